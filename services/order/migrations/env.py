from sqlmodel import SQLModel

from services.order import models  # noqa: F401  (registers the tables)
from shared.migrations import run_env

run_env(SQLModel.metadata)
