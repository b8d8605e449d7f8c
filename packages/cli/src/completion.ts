import type { Command } from "commander";
import { CliError, EXIT } from "./errors";

/** The command tree as `command subcommand` words and each command's long options, for completion. */
function tree(program: Command): { words: Map<string, string[]>; options: Map<string, string[]> } {
  const words = new Map<string, string[]>();
  const options = new Map<string, string[]>();
  const walk = (command: Command, path: string) => {
    words.set(path, command.commands.map((c) => c.name()));
    options.set(path, command.options.map((o) => o.long).filter((o): o is string => o !== undefined));
    for (const child of command.commands) walk(child, path === "" ? child.name() : `${path} ${child.name()}`);
  };
  walk(program, "");
  return { words, options };
}

/** A completion script for bash or zsh (zsh through bashcompinit), built from the program itself. */
export function completionScript(program: Command, shell: string): string {
  if (shell !== "bash" && shell !== "zsh") throw new CliError(`completion for ${JSON.stringify(shell)}: bash and zsh are supported`, EXIT.invalidInput);
  const { words, options } = tree(program);
  const globals = options.get("") ?? [];
  const cases = [...words.keys()]
    .map((path) => `    "${path}") candidates="${[...(words.get(path) ?? []), ...(options.get(path) ?? []), ...globals].join(" ")}" ;;`)
    .join("\n");
  const body = `_inferencekey() {
  local cur path word candidates
  cur="\${COMP_WORDS[COMP_CWORD]}"
  path=""
  for word in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case "$word" in -*) continue ;; esac
    case " $(_inferencekey_children "$path") " in *" $word "*) path="\${path:+$path }$word" ;; esac
  done
  case "$path" in
${cases}
    *) candidates="${globals.join(" ")}" ;;
  esac
  COMPREPLY=( $(compgen -W "$candidates" -- "$cur") )
}
_inferencekey_children() {
  case "$1" in
${[...words.keys()].map((path) => `    "${path}") echo "${(words.get(path) ?? []).join(" ")}" ;;`).join("\n")}
  esac
}
complete -F _inferencekey inferencekey
`;
  return shell === "zsh" ? `autoload -U +X bashcompinit && bashcompinit\n${body}` : body;
}
