"""A small shell tokenizer for RUN instructions: text -> simple commands with argv and exact source offsets.

It is not a shell. It models words and quoting, keeps expansions verbatim, splits on the list and pipe
operators and drops redirections. Compound commands (if/for/while/case, subshells, brace groups,
functions) and malformed input degrade to commands marked `unknown`; nothing here raises.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from dockerlint_ml.text import Mapped


@dataclass(frozen=True)
class Word:
    """One shell word: its value after quote removal, and where every character came from."""

    value: str  # after quote removal and backslash processing; expansions are kept verbatim
    start: int  # source offsets of the raw word [start, end)
    end: int
    offsets: tuple[int, ...]  # source offset of each character of `value`
    quoted: bool = False  # some part was quoted or backslash-escaped
    expands: bool = False  # contains an unexpanded $VAR, ${..}, $(..) or `..`
    assignment: bool = False  # NAME=value (or NAME+=value) with the name and "=" unquoted

    def tail(self, index: int) -> "Word":
        """The part of the value from `index` on, e.g. the value of `--opt=value` or `-rfile`."""
        index = max(0, min(index, len(self.value)))
        if index == 0:
            return self
        # The raw text of the tail starts just after the character before it (keeps an opening quote).
        start = self.offsets[index - 1] + 1
        return Word(self.value[index:], start, max(start, self.end), self.offsets[index:], self.quoted, self.expands)

    def mapped(self) -> Mapped:
        """The value with its source offsets, to be parsed as a script (the string of `bash -c`)."""
        return Mapped(self.value, list(self.offsets) + [self.end])


@dataclass
class Command:
    """A simple command: its words, source span, and the operator that follows it."""

    words: list[Word]  # every word, including leading assignments, keywords and wrappers
    start: int
    end: int
    operator: str | None = None  # '&&', '||', ';', '|', '&', '\n', or None at the end
    unknown: bool = False  # part of (or itself) a construct the tokenizer does not model

    @property
    def argv(self) -> list[Word]:
        """Words with leading assignments, wrappers (sudo, env, exec, ...) and keywords (if, then, ...) stripped."""
        return self.words[_prefix_length(self.words):]

    @property
    def assignments(self) -> list[Word]:
        """VAR=value words before argv, including those given to `env` or `sudo`."""
        return [w for w in self.words[:_prefix_length(self.words)] if w.assignment]

    @property
    def name(self) -> str:
        """Basename of argv[0], e.g. '/usr/local/bin/pip3' -> 'pip3'; '' for a pure assignment."""
        argv = self.argv
        return argv[0].value.rsplit("/", 1)[-1] if argv else ""


# ---------------------------------------------------------------------------------------------------------
# Options: one getopt-style reader shared by the wrappers here and the package-tool recognisers.


@dataclass(frozen=True)
class Option:
    """One option as written, with combined short flags split apart (`-yq` gives '-y' and '-q')."""

    name: str  # '-y', '--index-url'
    value: Word | None  # the value word, or the part of this word after '=' / after the short letter
    word: Word  # the word the option was written in


def parse_args(words: list[Word], valued: frozenset[str] | set[str], interleaved: bool = True) -> tuple[list[Option], list[Word]]:
    """Split words into options and positional arguments.

    `valued` names the options that take a value (`-o`, `--index-url`); they accept `--opt val`,
    `--opt=val`, `-o val` and `-oval`. With `interleaved` False, the first positional ends the options
    (POSIX style, for wrappers like sudo); `--` always does.
    """
    options: list[Option] = []
    positionals: list[Word] = []
    i, n = 0, len(words)
    while i < n:
        word = words[i]
        value = word.value
        if value == "--":
            return options, positionals + words[i + 1:]
        if value.startswith("--"):
            name, eq, _ = value.partition("=")
            if eq:
                options.append(Option(name, word.tail(len(name) + 1), word))
            elif name in valued and i + 1 < n:
                options.append(Option(name, words[i + 1], word))
                i += 1
            else:
                options.append(Option(name, None, word))
        elif value.startswith("-") and len(value) > 1 and not word.expands:
            i += _short_cluster(words, i, valued, options)
        elif interleaved:
            positionals.append(word)
        else:
            return options, words[i:]
        i += 1
    return options, positionals


def _short_cluster(words: list[Word], i: int, valued, options: list[Option]) -> int:
    """Read `-abc` at words[i]; returns how many extra words were consumed (1 if the value is the next word)."""
    word = words[i]
    value = word.value
    for k in range(1, len(value)):
        name = "-" + value[k]
        if name not in valued:
            options.append(Option(name, None, word))
            continue
        if k + 1 < len(value):
            options.append(Option(name, word.tail(k + 1), word))
            return 0
        if i + 1 < len(words):
            options.append(Option(name, words[i + 1], word))
            return 1
        options.append(Option(name, None, word))
    return 0


# ---------------------------------------------------------------------------------------------------------
# Prefixes of argv: assignments, reserved words and wrapper commands.

# Reserved words that may precede a command inside a compound command; a quoted one is an ordinary word.
_KEYWORD_PREFIXES = frozenset({"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}", "esac"})
_OPENERS = frozenset({"if", "while", "until", "for", "case", "select", "function", "{"})
_CLOSERS = frozenset({"fi", "done", "esac", "}"})
_COMPOUND = _KEYWORD_PREFIXES | _OPENERS | {"[["}


@dataclass(frozen=True)
class _Wrapper:
    valued: frozenset[str] = frozenset()  # its options that take a value
    queries: frozenset[str] = frozenset()  # options that make it not run the command (`command -v`)


_WRAPPERS = {
    "sudo": _Wrapper(frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T", "--user", "--group",
                                "--close-from", "--chdir", "--prompt", "--role", "--type", "--other-user",
                                "--command-timeout", "--host"})),
    "env": _Wrapper(frozenset({"-u", "-C", "-S", "--unset", "--chdir", "--split-string"})),
    "exec": _Wrapper(frozenset({"-a"})),
    "time": _Wrapper(frozenset({"-f", "-o", "--format", "--output"})),
    "nohup": _Wrapper(),
    "nice": _Wrapper(frozenset({"-n", "--adjustment"})),
    "command": _Wrapper(queries=frozenset({"-v", "-V"})),
}


def _prefix_length(words: list[Word]) -> int:
    """Number of leading words that are assignments, reserved words or wrappers (and their options)."""
    i, n = 0, len(words)
    while i < n:
        word = words[i]
        if word.assignment or (not word.quoted and word.value in _KEYWORD_PREFIXES):
            i += 1
            continue
        wrapper = _WRAPPERS.get(word.value.rsplit("/", 1)[-1])
        if wrapper is None:
            break
        options, rest = parse_args(words[i + 1:], wrapper.valued, interleaved=False)
        # `env` alone prints the environment, `command -v x` looks x up: then the wrapper is the command.
        if not rest or any(o.name in wrapper.queries for o in options):
            break
        i = n - len(rest)
    return i


# ---------------------------------------------------------------------------------------------------------
# Tokenizer: one pass over the text, building words and splitting commands at operators.

_BLANKS = " \t\r\f\v"
_LITERAL_RUN = re.compile(r"[^\s\\'\"$`;&|<>()]+")  # characters with no special meaning outside quotes
_DQUOTE_RUN = re.compile(r'[^\\"$`]+')  # characters with no special meaning inside double quotes
_NAME_CHARS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-]")  # what may follow a bare "$"
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")
_SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh"})


class _Tokenizer:
    """Single pass over `m.text`; call `run()` once for the commands."""

    def __init__(self, m: Mapped):
        self.s = m.text
        self.off = m.offsets
        self.n = len(self.s)
        self.commands: list[Command] = []
        self.depth = 0  # open compound commands (if/for/while/case/{/function) and subshells
        self.cases = 0  # open `case … esac`
        self.expect_pattern = False  # the next `)` ends a case pattern (after `case x in` and after `;;`)
        self._new_command()
        self._new_word()

    # -- state -------------------------------------------------------------------------------------------
    def _new_command(self) -> None:
        self.words: list[Word] = []
        self.cmd_start: int | None = None  # text index of the command's first token
        self.cmd_end = 0  # text index just past its last token
        self.unknown = self.depth > 0
        self.redirect: str | None = None  # the operator whose target is the next word ('>', '<<', '<<-', ...)
        self.heredocs: list[tuple[str, bool]] = []  # (delimiter, strip tabs) of pending `<<` bodies

    def _new_word(self) -> None:
        self.chars: list[str] = []
        self.char_offsets: list[int] = []
        self.word_start: int | None = None
        self.quoted = False
        self.expands = False
        self.plain = 0  # length of the value's leading run of unquoted literal characters

    def _begin(self, i: int) -> None:
        if self.word_start is None:
            self.word_start = i
            if self.cmd_start is None:
                self.cmd_start = i

    def _add(self, i: int, j: int, plain: bool) -> None:
        """Append text[i:j] verbatim to the current word's value."""
        if plain and self.plain == len(self.char_offsets):
            self.plain += j - i
        self.chars.append(self.s[i:j])
        self.char_offsets.extend(self.off[i:j])

    def _add_char(self, ch: str, i: int) -> None:
        self.chars.append(ch)
        self.char_offsets.append(self.off[i])

    # -- words and commands ------------------------------------------------------------------------------
    def _end_word(self, i: int) -> None:
        """Finish the word that ends at text index i (exclusive)."""
        if self.word_start is None:
            return
        while i - 2 > self.word_start and self.s[i - 2:i] == "\\\n":
            i -= 2  # a line continuation after the word is not part of it
        value = "".join(self.chars)
        start, end = self.off[self.word_start], self.off[i - 1] + 1
        match = _ASSIGNMENT.match(value)
        assignment = bool(match) and match.end() <= self.plain
        word = Word(value, start, end, tuple(self.char_offsets), self.quoted, self.expands, assignment)
        self.cmd_end = i
        if self.redirect:
            if self.redirect.startswith("<<") and self.redirect != "<<<":
                self.heredocs.append((value, self.redirect == "<<-"))
            self.redirect = None
        else:
            self.words.append(word)
        self._new_word()

    def _end_command(self, operator: str | None, i: int) -> None:
        """Finish the current command at an operator (or the end, operator None)."""
        if self.redirect:
            self.unknown = True  # a redirection operator with no target
        if self.cmd_start is None:
            # Nothing before the operator: a blank line, or the newline after `&&`/`|`.
            self._new_command()
            return
        self._track_depth()
        start, end = self.off[self.cmd_start], self.off[self.cmd_end - 1] + 1
        self.commands.append(Command(self.words, start, end, operator, self.unknown))
        self._new_command()

    def _track_depth(self) -> None:
        """Mark compound-command pieces unknown and follow their nesting, from the leading reserved words."""
        for word in self.words:
            if word.quoted or word.value not in _COMPOUND:
                break
            if word.value == "!":
                continue  # a negated pipeline is still a simple command
            self.unknown = True
            if word.value in _OPENERS:
                self.depth += 1
            elif word.value in _CLOSERS:
                self.depth = max(0, self.depth - 1)
            if word.value == "case":
                self.cases += 1
                self.expect_pattern = True
            elif word.value == "esac" and self.cases:
                self.cases -= 1
                self.expect_pattern = False
            if word.value in ("for", "case", "select", "function", "[["):
                break  # what follows is not a command

    # -- the scan ----------------------------------------------------------------------------------------
    def run(self) -> list[Command]:
        s, n = self.s, self.n
        i = 0
        while i < n:
            ch = s[i]
            if ch in _BLANKS:
                self._end_word(i)
                i += 1
                while i < n and s[i] in _BLANKS:
                    i += 1
            elif ch == "\n":
                self._end_word(i)
                i = self._newline(i)
            elif ch == "#" and self.word_start is None:
                end = s.find("\n", i)
                i = n if end < 0 else end
            elif ch == "\\":
                i = self._backslash(i)
            elif ch == "'":
                i = self._single_quote(i)
            elif ch == '"':
                i = self._double_quote(i)
            elif ch == "$" or ch == "`":
                self._begin(i)
                i = self._expansion(i)
            elif ch in ";&|":
                i = self._operator(i)
            elif ch in "<>":
                i = self._redirection(i)
            elif ch in "()":
                self._end_word(i)
                self._paren(ch, i)
                i += 1
            else:
                self._begin(i)
                match = _LITERAL_RUN.match(s, i)
                j = match.end() if match else i + 1
                self._add(i, j, plain=True)
                i = j
        self._end_word(n)
        if self.heredocs:
            self.unknown = True  # `<<` with no body in this text
        self._end_command(None, n)
        if self.commands and self.commands[-1].operator == "\n":
            self.commands[-1].operator = None
        return self.commands

    def _newline(self, i: int) -> int:
        heredocs = self.heredocs
        self._end_command("\n", i)
        i += 1
        for delimiter, strip in heredocs:
            i = self._skip_heredoc(i, delimiter, strip)
        return i

    def _skip_heredoc(self, i: int, delimiter: str, strip: bool) -> int:
        """Skip a heredoc body starting at index i; returns the index after its terminator line."""
        s = self.s
        while i < self.n:
            end = s.find("\n", i)
            end = self.n if end < 0 else end
            line = s[i:end].rstrip("\r")
            if (line.lstrip("\t") if strip else line) == delimiter:
                return end + 1
            i = end + 1
        return self.n

    def _backslash(self, i: int) -> int:
        if i + 1 < self.n and self.s[i + 1] == "\n":
            return i + 2  # line continuation (in a heredoc script)
        self._begin(i)
        self.quoted = True
        if i + 1 < self.n:
            self._add_char(self.s[i + 1], i + 1)
            return i + 2
        self._add_char("\\", i)
        return i + 1

    def _single_quote(self, i: int) -> int:
        self._begin(i)
        self.quoted = True
        end = self.s.find("'", i + 1)
        if end < 0:
            self.unknown = True
            end = self.n
        self._add(i + 1, end, plain=False)
        return end + 1

    def _double_quote(self, i: int) -> int:
        self._begin(i)
        self.quoted = True
        s, n = self.s, self.n
        i += 1
        while i < n:
            ch = s[i]
            if ch == '"':
                return i + 1
            if ch == "\\" and i + 1 < n and s[i + 1] in '$`"\\\n':
                if s[i + 1] != "\n":
                    self._add_char(s[i + 1], i + 1)
                i += 2
            elif ch == "$" or ch == "`":
                i = self._expansion(i, in_quotes=True)
            else:
                match = _DQUOTE_RUN.match(s, i)
                j = match.end() if match else i + 1
                self._add(i, j, plain=False)
                i = j
        self.unknown = True  # unterminated
        return n

    def _expansion(self, i: int, in_quotes: bool = False) -> int:
        """`$...` or a backtick at index i: kept verbatim in the word; returns the index after it."""
        s, n = self.s, self.n
        if s[i] == "`":
            end = _skip_backticks(s, i + 1)
        elif i + 1 >= n:
            self._add(i, i + 1, plain=False)  # a lone "$" at the end is literal
            return i + 1
        elif s[i + 1] == "(":
            end = _skip_group(s, i + 2, "(", ")")
        elif s[i + 1] == "{":
            end = _skip_group(s, i + 2, "{", "}")
        elif s[i + 1] == "'" and not in_quotes:
            return self._ansi_c_quote(i)
        elif s[i + 1] == '"' and not in_quotes:
            return self._double_quote(i + 1)  # $"..." (locale translation) is a double-quoted string
        else:
            match = _NAME_CHARS.match(s, i + 1)
            if not match:
                self._add(i, i + 1, plain=False)  # a "$" before a blank or operator is literal
                return i + 1
            end = match.end()
        if end < 0:
            self.unknown = True  # unterminated
            end = n
        else:
            self.expands = True
        self._add(i, end, plain=False)
        return end

    def _ansi_c_quote(self, i: int) -> int:
        """$'...': the content is kept verbatim (escapes are not decoded)."""
        self.quoted = True
        s, n = self.s, self.n
        j = i + 2
        while j < n and s[j] != "'":
            j += 2 if s[j] == "\\" else 1
        if j >= n:
            self.unknown = True
            j = n
        self._add(i + 2, min(j, n), plain=False)
        return j + 1

    def _operator(self, i: int) -> int:
        s = self.s
        self._end_word(i)
        two = s[i:i + 2]
        if two == "&>":
            return self._redirection(i)
        if two in ("&&", "||", ";;", "|&", ";&"):
            operator = "|" if two == "|&" else ";" if two[0] == ";" else two
            self._end_command(operator, i)
            if two in (";;", ";&") and self.cases:
                self.expect_pattern = True  # the next case arm begins with its pattern
            return i + 2
        self._end_command(s[i], i)
        return i + 1

    def _redirection(self, i: int) -> int:
        """A redirection operator at i: drop it, and its target (the next word) from the arguments."""
        s, n = self.s, self.n
        value = "".join(self.chars)
        if self.word_start is not None and value.isdigit() and self.plain == len(value):
            self._new_word()  # the "2" of "2>file" is a file descriptor, not an argument
        else:
            self._end_word(i)
        if self.cmd_start is None:
            self.cmd_start = i
        j = i + 1
        if s.startswith("<<", i):
            j = i + 3 if s.startswith(("<<<", "<<-"), i) else i + 2
            if s[i + 2:j] != "<":
                self.unknown = True  # heredoc content is not modelled
        else:
            while j < n and s[j] in ">|&":
                j += 1  # >>, >|, <>, &>, &>>, >&, <&
            if s[j - 1] == "&" and j < n and (s[j].isdigit() or s[j] == "-"):
                # >&2, 2>&1, <&-: the target is part of the operator.
                while j < n and (s[j].isdigit() or s[j] == "-"):
                    j += 1
                self.cmd_end = j
                return j
        self.redirect = s[i:j]
        self.cmd_end = j
        return j

    def _paren(self, ch: str, i: int) -> None:
        """A case pattern's `)` ends the pattern: the arm's command starts after it. Subshells and function
        definitions are not modelled: mark them unknown."""
        if self.cases and self.expect_pattern:
            if ch == ")":
                self.expect_pattern = False
                self._new_command()  # drop the pattern words (`"linux/arm64" | *`)
            return  # `(` may open a pattern: `(a|b) cmd`
        if self.cmd_start is None:
            self.cmd_start = i
        self.cmd_end = i + 1
        self.unknown = True
        self.depth = self.depth + 1 if ch == "(" else max(0, self.depth - 1)


def _skip_backticks(s: str, i: int) -> int:
    """Index just past the closing backtick for a command substitution whose body starts at i; -1 if none."""
    n = len(s)
    while i < n:
        if s[i] == "\\":
            i += 2
        elif s[i] == "`":
            return i + 1
        else:
            i += 1
    return -1


def _skip_group(s: str, i: int, opening: str, closing: str) -> int:
    """Index just past the `closing` that balances an `opening` before i, honouring quotes; -1 if none."""
    n, depth = len(s), 1
    while i < n:
        ch = s[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "'":
            end = s.find("'", i + 1)
            if end < 0:
                return -1
            i = end + 1
            continue
        if ch == '"':
            i = _skip_double_quoted(s, i + 1)
            if i < 0:
                return -1
            continue
        if ch == "`":
            i = _skip_backticks(s, i + 1)
            if i < 0:
                return -1
            continue
        if ch == opening:
            depth += 1
        elif ch == closing:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return -1


def _skip_double_quoted(s: str, i: int) -> int:
    """Index just past the closing double quote for a string whose body starts at i; -1 if none."""
    n = len(s)
    while i < n:
        ch = s[i]
        if ch == "\\":
            i += 2
        elif ch == '"':
            return i + 1
        elif ch == "$" and i + 1 < n and s[i + 1] in "({":
            end = _skip_group(s, i + 2, s[i + 1], ")" if s[i + 1] == "(" else "}")
            if end < 0:
                return -1
            i = end
        else:
            i += 1
    return -1


# ---------------------------------------------------------------------------------------------------------
# `bash -c "..."`: replace the command by the commands of its string, one level deep.


def _shell_string(cmd: Command) -> Word | None:
    """The command string of `sh -c STRING` (also bash/dash/ash/zsh/ksh, combined flags like -ec), else None."""
    argv = cmd.argv
    if not argv or argv[0].value.rsplit("/", 1)[-1] not in _SHELLS:
        return None
    options, rest = parse_args(argv[1:], frozenset({"-o", "-O"}), interleaved=False)
    if rest and any(o.name == "-c" for o in options):
        return rest[0]
    return None


def _unwrap(commands: list[Command]) -> list[Command]:
    result: list[Command] = []
    for cmd in commands:
        string = _shell_string(cmd)
        inner = _tokenize(string.mapped()) if string is not None else []
        if not inner:
            result.append(cmd)
            continue
        inner[-1].operator = cmd.operator
        for sub in inner:
            sub.unknown = sub.unknown or cmd.unknown
        result.extend(inner)
    return result


def _tokenize(m: Mapped) -> list[Command]:
    try:
        return _Tokenizer(m).run()
    except Exception:  # a bug must not stop the lint: the whole text becomes one unknown command
        start, end = (m.offsets[0], m.offsets[-1]) if m.offsets else (0, 0)
        return [Command([], start, end, None, unknown=True)] if m.text.strip() else []


def parse_shell(m: Mapped) -> list[Command]:
    """Commands of shell-form RUN text (already joined by `logical_line`, keyword and flags removed)."""
    return _unwrap(_tokenize(m))


def parse_script(text: str, base: int) -> list[Command]:
    """Commands of a heredoc body that starts at source offset `base`."""
    return _unwrap(_tokenize(Mapped.plain(text, base)))


def parse_exec(words: list[Word]) -> list[Command]:
    """Exec-form RUN ["bash", "-c", "..."], given its JSON elements as Words: one command, or the string's."""
    if not words:
        return []
    return _unwrap([Command(list(words), words[0].start, words[-1].end, None)])
