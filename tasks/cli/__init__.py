"""The command line (`python -m tasks COMMAND`): one dispatcher and one module of commands
per stage; the only place that turns errors into messages and exit codes."""
