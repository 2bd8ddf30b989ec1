"""`python -m services.billing [migrate]`: run the billing service, or only migrate its database."""

from services.billing.app import SPEC
from shared.service import main

main(SPEC)
