from baton_cli.cli.app import main

main()
