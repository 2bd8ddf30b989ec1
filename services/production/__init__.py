"""Production service: production and purchase orders, MES progress, readiness for shipping."""
