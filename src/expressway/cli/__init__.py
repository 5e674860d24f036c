"""``expressway …``: commands parse arguments and call services, nothing more.

:mod:`expressway.cli.main` imports every command module, and a serving command runs uvicorn in
the CLI's own process: whatever a command module imports at its top, ``expressway tenant serve``
keeps in memory for as long as it serves. So a command module imports at its top only what its
options and its printing need (typer, rich, the settings), and imports the systems, the demo,
the doctor and the storage layer inside the command functions that use them: ``tenant serve``
holds no workforce module, ``workforce serve`` no tenant module, and neither the demo
(``tests/cli/test_imports.py`` holds this). rich stays at the top: httpx, which every service
uses, imports it anyway.
"""
