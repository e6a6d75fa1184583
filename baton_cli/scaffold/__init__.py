"""``baton new connector NAME``: writes a connector package that passes its own kit tests."""

from baton_cli.scaffold.writer import Scaffold, plan, write_scaffold

__all__ = ["Scaffold", "plan", "write_scaffold"]
