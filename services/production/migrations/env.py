from services.production import models  # noqa: F401  (registers the tables)
from shared.migrations import run_env
from sqlmodel import SQLModel

run_env(SQLModel.metadata)
