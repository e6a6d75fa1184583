#compdef baton

_baton_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _BATON_COMPLETE=complete_zsh baton)
}

compdef _baton_completion baton
