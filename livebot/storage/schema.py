"""Imports every area's models so ``Base.metadata`` holds the whole schema (for Alembic)."""

from livebot.auth import models as auth_models
from livebot.chat import models as chat_models
from livebot.schedule import models as schedule_models
from livebot.storage.base import Base

MODEL_MODULES = (auth_models, chat_models, schedule_models)
metadata = Base.metadata
