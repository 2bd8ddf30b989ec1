"""Billing service: payment terms to invoices, payment matching, settlement."""
