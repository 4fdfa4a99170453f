"""Wire the FAQ area into the app: KB pages and API, and the enrichment stage."""

from __future__ import annotations

from aiohttp import web

from livebot.appkeys import API_DOC
from livebot.faq import api, views


def setup(app: web.Application) -> None:
    from livebot.faq.stage import ENRICHER_BUILDS, EnricherBuilds, stage_ctx

    app.add_routes(views.routes)
    app.add_routes(api.routes)
    app[API_DOC].add(api.PATHS, api.SCHEMAS)
    app[ENRICHER_BUILDS] = EnricherBuilds()  # the app's own, never shared with another app
    app.cleanup_ctx.append(stage_ctx)
