"""Connectors bundled with baton_cli (each registered under the ``baton.connectors`` entry point)."""
