"""Allow ``python -m livebot``."""

from livebot.cli import main

raise SystemExit(main())
