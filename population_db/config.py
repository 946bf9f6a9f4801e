"""Settings of the population database (``NATID_`` environment variables).

Built by the caller (CLI or app factory), never at import time.
"""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class PopulationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NATID_", extra="ignore")

    data_dir: Path = Path("var")
    population_db_url: str | None = None

    def database_url(self) -> str:
        """The configured URL, else ``population.db`` in the data directory."""
        if self.population_db_url:
            return self.population_db_url
        return f"sqlite:///{(self.data_dir / 'population.db').as_posix()}"
