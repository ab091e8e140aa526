# bash completion for mesh(1), the meshtrust command.
#
# Everything is asked of `mesh` itself, so the completion follows the binary:
#   mesh --help                  the command families
#   mesh FAMILY --help           a family's sub-commands
#   mesh FAMILY [SUB] --help     a command's options, their values (a|b|c in the
#                                usage line) and its operands (<id>, KEY, FILE)
#   mesh config list --json      configuration keys (for KEY)
#   mesh trust scopes --json     scopes of the held edges (for --scope)
#   mesh name list --json        local names, offered as @NAME (for IDs)
#   mesh trust list --json       the Node IDs this home trusts (for IDs)
# The global --home/--store of the line being completed are passed on. mesh
# runs with stdin and stderr on /dev/null (it never asks for a passphrase) and
# under `timeout` when there is one: without a home the lists are just empty.
# Values from the store are offered only when made of [A-Za-z0-9@:._/+-]
# (they are others' text); nothing they hold is evaluated.
# Installed as share/bash-completion/completions/mesh.

_mesh_run()
{
	local t=()
	command -v timeout >/dev/null 2>&1 && t=(timeout 3)
	"${t[@]}" "$_mesh_bin" "${_mesh_global[@]}" "$@" </dev/null 2>/dev/null
}

# The first column of the "commands:" section of a help text (stdin).
_mesh_help_cmds()
{
	awk '/^commands:/ {f = 1; next} f && /^[ \t]*$/ {exit} f && /^  [a-z]/ {print $1}'
}

# Add the words of stdin (one a line) that start with $1 and are safe to show.
_mesh_add()
{
	local w
	while IFS= read -r w; do
		[[ -n $w && $w == "$1"* && $w =~ ^[A-Za-z0-9@:._/+=-]+$ ]] && _mesh_cands+=("$w")
	done
}

# @NAMEs, then the Node IDs that are named or trusted (global scope).
_mesh_ids()
{
	local names
	names=$(_mesh_run name list --json)
	grep -oE '"name":"[^"]*"' <<<"$names" | sed 's/^"name":"/@/; s/"$//'
	[[ $1 == @* ]] && return
	{ grep -oE '"node_id":"[^"]*"' <<<"$names"
	  _mesh_run trust list --json | grep -oE '"node_id":"[^"]*"'; } |
		sed 's/^"node_id":"//; s/"$//' | sort -u
}

_mesh_scopes()
{
	printf '%s\n' global coop: federation: domain: topic:
	_mesh_run trust scopes --json | grep -oE '"scope":"[^"]*"' | sed 's/^"scope":"//; s/"$//' |
		grep -vx global
}

_mesh_config_keys()
{
	_mesh_run config list --json | grep -oE '"[A-Za-z0-9_.]+":' | tr -d '":'
}

# Values for the operand or option value named by $1 (a metavar, an operand
# of the usage line, or "a|b|c"), starting with $2.
_mesh_values()
{
	local what=$1 cur=$2
	case $what in
	*\|*) _mesh_add "$cur" < <(tr '|' '\n' <<<"$what") ;;
	--scope | S | \<scope\> | SCOPE) _mesh_add "$cur" < <(_mesh_scopes) ;;
	KEY | \<key\>) _mesh_add "$cur" < <(_mesh_config_keys) ;;
	FILE* | \<file\>* | DIR | PATH | \<dir\> | SEED*)
		local IFS=$'\n'
		_mesh_cands+=($(compgen -f -- "$cur"))
		;;
	ID | \<id\>* | ID… | \<from\> | \<to\> | \<referee\> | --from | --to | --iss | --viewpoint)
		_mesh_add "$cur" < <(_mesh_ids "$cur")
		;;
	*) [[ $cur == @* ]] && _mesh_add "$cur" < <(_mesh_ids "$cur") ;;
	esac
}

_mesh()
{
	local _mesh_bin=${COMP_WORDS[0]}
	[[ $_mesh_bin == */* && -x $_mesh_bin ]] || _mesh_bin=mesh
	local -a _mesh_global=() _mesh_cands=() words=()
	local i w cword=0 glue=0
	# Rejoin what COMP_WORDBREAKS split: --opt=value and scope:label.
	for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
		w=${COMP_WORDS[i]}
		if ((i > 1)) && [[ $w == "=" || $w == ":" ]] || ((glue && i > 1)); then
			words[${#words[@]} - 1]+=$w
			[[ $w == "=" || $w == ":" ]] && glue=1 || glue=0
		else
			words+=("$w")
			glue=0
		fi
		((i == COMP_CWORD)) && cword=$((${#words[@]} - 1))
	done
	# `mesh trust add ` with the cursor after a space: an empty word.
	((cword >= ${#words[@]})) && words+=("")
	local cur=${words[cword]}

	# Global options, then the command and its sub-command.
	local cmd= sub= n=1
	while ((n < cword)); do
		case ${words[n]} in
		--home | --store | --passphrase-file)
			_mesh_global+=("${words[n]}" "${words[n + 1]}")
			((n += 2))
			;;
		--home=* | --store=* | --passphrase-file=*) _mesh_global+=("${words[n]}"); ((n++)) ;;
		-*) ((n++)) ;;
		*) break ;;
		esac
	done
	if ((n >= cword)); then
		case $cur in
		--home=* | --passphrase-file=*)
			local IFS=$'\n'
			_mesh_cands=($(compgen -f -- "${cur#*=}"))
			_mesh_cands=("${_mesh_cands[@]/#/${cur%%=*}=}")
			;;
		-*) _mesh_add "$cur" < <(printf '%s\n' --home --store --passphrase-file --help --version) ;;
		*)
			case ${words[cword - 1]} in
			--home | --passphrase-file)
				local IFS=$'\n'
				_mesh_cands=($(compgen -f -- "$cur"))
				;;
			--store) ;;
			*) _mesh_add "$cur" < <(_mesh_run --help | _mesh_help_cmds; echo help) ;;
			esac
			;;
		esac
	else
		cmd=${words[n]}
		((n++))
		local help subs
		if [[ $cmd == help ]]; then
			if ((n == cword)); then
				_mesh_add "$cur" < <(_mesh_run --help | _mesh_help_cmds)
			else
				_mesh_add "$cur" < <(_mesh_run "${words[n]}" --help | _mesh_help_cmds)
			fi
		else
			subs=$(_mesh_run "$cmd" --help | _mesh_help_cmds)
			if [[ -n $subs ]]; then
				while ((n < cword)) && [[ ${words[n]} == -* ]]; do ((n++)); done
				if ((n >= cword)); then
					_mesh_add "$cur" <<<"$subs"
					cmd=
				else
					sub=${words[n]}
					((n++))
				fi
			fi
		fi
		if [[ -n $cmd && $cmd != help ]]; then
			_mesh_leaf
		fi
	fi

	# Only the part after the last =/: of the word that readline replaces.
	local pre=${cur%"${cur##*[=:]}"}
	if [[ -n $pre ]]; then
		for i in "${!_mesh_cands[@]}"; do
			_mesh_cands[i]=${_mesh_cands[i]#"$pre"}
		done
	fi
	COMPREPLY=("${_mesh_cands[@]}")
	# An option that takes a value, a scope prefix: no space after it.
	if [[ ${#COMPREPLY[@]} -eq 1 && ( ${COMPREPLY[0]} == *: || ${COMPREPLY[0]} == *= ) ]]; then
		compopt -o nospace 2>/dev/null
	fi
	return 0
}

# A leaf command: cmd, sub (may be empty), words n..cword-1 its arguments.
_mesh_leaf()
{
	local -a path=("$cmd")
	[[ -n $sub ]] && path+=("$sub")
	local help usage
	help=$(_mesh_run "${path[@]}" --help)
	[[ -z $help ]] && return
	usage=$(sed -n '1s/^usage: //p' <<<"$help")
	# The options: "--name" (a flag) or "--name METAVAR"; value lists from the usage.
	local -A takes=()
	local line o m
	while IFS= read -r line; do
		if [[ $line =~ ^\ +(-[a-zA-Z],\ )?(--[a-z][a-z0-9-]*)(\ ([^ ]+))? ]]; then
			o=${BASH_REMATCH[2]}
			m=${BASH_REMATCH[4]}
			takes[$o]=${m:+$m}
			[[ -z $m ]] && takes[$o]=-
		fi
	done < <(sed -n '/^options:/,$p' <<<"$help")
	takes[--passphrase-file]=FILE
	# Alternatives in the usage line: --mode best-path|flow
	local -a ut
	read -r -a ut <<<"$usage"
	for ((i = 0; i + 1 < ${#ut[@]}; i++)); do
		o=${ut[i]#[}
		m=${ut[i + 1]%]}
		[[ $o == --* && -n ${takes[$o]} && $m == *\|* ]] && takes[$o]=$m
	done
	# The operands the usage line names, in order (after "mesh CMD [SUB]").
	local -a ops=()
	local skip=0
	for ((i = 1 + ${#path[@]}; i < ${#ut[@]}; i++)); do
		w=${ut[i]}
		if ((skip)); then skip=0; continue; fi
		case $w in
		\[\<*\]) ops+=("${w:1:${#w}-2}"); continue ;; # an optional operand: [<id>]
		\[* | *\] | \<command\>) [[ $w == \[--* && $w != *\] ]] && skip=1; continue ;;
		-*) skip=1; continue ;;
		esac
		ops+=("$w")
	done
	# Walk the arguments given so far: operands and options with their values.
	local k=$n npos=0 want=
	while ((k < cword)); do
		w=${words[k]}
		if [[ $w == -- ]]; then :
		elif [[ $w == --*=* ]]; then :
		elif [[ $w == -* ]]; then
			[[ -n ${takes[$w]} && ${takes[$w]} != - ]] && ((k++))
		else
			((npos++))
		fi
		((k++))
	done
	# An option's value?
	local prev=${words[cword - 1]} optv=
	if [[ $cur == --*=* ]]; then
		optv=${cur%%=*}
		cur=${cur#*=}
	elif ((cword - 1 >= n)) && [[ $prev == --* && -n ${takes[$prev]} && ${takes[$prev]} != - ]]; then
		optv=$prev
	fi
	if [[ -n $optv ]]; then
		m=${takes[$optv]}
		case $optv in --scope | --from | --to | --iss | --viewpoint) [[ $m == *\|* ]] || m=$optv ;; esac
		_mesh_values "$m" "$cur"
		[[ $optv != "${words[cword - 1]}" ]] && _mesh_cands=("${_mesh_cands[@]/#/$optv=}")
		cur=${words[cword]}
		return
	fi
	if [[ $cur == -* ]]; then
		_mesh_add "$cur" < <(printf '%s\n' "${!takes[@]}" --help | sort -u)
		return
	fi
	# An operand: the usage line's npos-th (the last one repeats when it ends with …).
	if ((npos < ${#ops[@]})); then
		_mesh_values "${ops[npos]}" "$cur"
	elif ((${#ops[@]})) && [[ ${ops[${#ops[@]} - 1]} == *… || ${ops[${#ops[@]} - 1]} == *... ]]; then
		_mesh_values "${ops[${#ops[@]} - 1]%…}" "$cur"
	elif [[ $cur == @* ]]; then
		_mesh_values "" "$cur"
	fi
}

complete -F _mesh mesh
