"""Imports every area's models so ``Base.metadata`` holds the whole schema (for Alembic)."""

from livebot.auth import models as auth_models
from livebot.cases import models as cases_models
from livebot.chat import models as chat_models
from livebot.compliance import models as compliance_models
from livebot.console import models as console_models
from livebot.engagement import models as engagement_models
from livebot.faq import models as faq_models
from livebot.overlays import models as overlay_models
from livebot.schedule import models as schedule_models
from livebot.storage.base import Base
from livebot.trace import models as trace_models

MODEL_MODULES = (auth_models, chat_models, schedule_models, faq_models, overlay_models, trace_models, console_models, engagement_models,
                 cases_models, compliance_models)
metadata = Base.metadata
