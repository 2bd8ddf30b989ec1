"""`python -m services.logistics [migrate]`: run the logistics service, or only migrate its database."""

from services.logistics.app import SPEC
from shared.service import main

main(SPEC)
