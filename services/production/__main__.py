"""`python -m services.production [migrate]`: run the production service, or only migrate its database."""

from services.production.app import SPEC
from shared.service import main

main(SPEC)
