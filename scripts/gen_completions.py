"""Regenerate completions/ from the Typer app: python scripts/gen_completions.py"""

from __future__ import annotations

from pathlib import Path

from baton_cli.cli.completion_cmd import Shell, completion_script

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    out = ROOT / "completions"
    out.mkdir(exist_ok=True)
    for shell in Shell:
        (out / f"baton.{shell.value}").write_text(completion_script(shell))
    print(f"wrote {len(Shell)} completion scripts into completions/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
