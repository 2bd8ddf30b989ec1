"""The tracking table over HTTP: one row per order, searched, sorted, paged and exported; KPIs."""

from fastapi import APIRouter

router = APIRouter(tags=["tracking"])
