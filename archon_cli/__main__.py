from archon_cli.cli.app import entry

entry()
