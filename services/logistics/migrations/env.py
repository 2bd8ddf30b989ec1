from sqlmodel import SQLModel

from services.logistics import models  # noqa: F401  (registers the tables)
from shared.migrations import run_env

run_env(SQLModel.metadata)
