"""`python -m services.order [migrate]`: run the order service, or only migrate its database."""

from services.order.app import SPEC
from shared.service import main

main(SPEC)
