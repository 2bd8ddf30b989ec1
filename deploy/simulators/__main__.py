"""`python -m deploy.simulators`: the simulated partners as one process."""

import asyncio

from deploy.simulators import build
from shared.logs import setup_logging

setup_logging("gendan.simulators")
asyncio.run(build().run())
