"""Logistics service: warehouse events, shipment planning, carrier tracking, proof of delivery."""
