"""FAQ engine: knowledge base, Chinese text pipeline, question detection, ranking, enrichment.

Nothing heavy is imported here; import the submodule you need (``livebot.faq.enrich`` for the
per-message facade, ``livebot.faq.kb`` for loading a knowledge base).
"""
