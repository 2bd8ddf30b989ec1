"""Running Gendan: the process supervisor, the simulated partners and the demo."""
