/**
 * The bash and zsh completion scripts `qrexec-policy completion SHELL`
 * prints. They only hand the words typed so far to the program that is
 * being completed (`qrexec-policy completion --complete N -- WORDS`) and
 * show its answer: one candidate per line, or `:files` for file names.
 */

/** The programs completed: the umbrella under Qubes' name and under the package's own (ts-). */
export const COMPLETED = ['qrexec-policy', 'ts-qrexec-policy'];

export const BASH = `# bash completion for qrexec-policy (\`qrexec-policy completion bash\`)
_qrexec_policy() {
  local cur=\${COMP_WORDS[COMP_CWORD]} reply
  reply=$("\${COMP_WORDS[0]}" completion --complete "$COMP_CWORD" -- "\${COMP_WORDS[@]}" 2>/dev/null) || return 0
  if [[ $reply == :files ]]; then
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
  else
    mapfile -t COMPREPLY <<<"$reply"
    [[ -z $reply ]] && COMPREPLY=()
  fi
  return 0
}
complete -F _qrexec_policy ${COMPLETED.join(' ')}
`;

export const ZSH = `#compdef ${COMPLETED.join(' ')}
# zsh completion for qrexec-policy (\`qrexec-policy completion zsh\`)
_qrexec_policy() {
  local reply
  reply=$("\${words[1]}" completion --complete $((CURRENT - 1)) -- "\${words[@]}" 2>/dev/null) || return 1
  if [[ $reply == :files ]]; then
    _files
  else
    local -a candidates
    candidates=("\${(@f)reply}")
    compadd -- "\${candidates[@]}"
  fi
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _qrexec_policy "$@"
else
  compdef _qrexec_policy ${COMPLETED.join(' ')}
fi
`;
