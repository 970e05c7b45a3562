"""Tests for the RUN tokenizer: words, quoting, operators, offsets, nesting and graceful degradation."""
from hypothesis import given, settings, strategies as st

from dockerlint_ml.shell import Command, Word, parse_args, parse_exec, parse_script, parse_shell
from dockerlint_ml.text import Mapped, SourceText, logical_line


def values(words):
    return [w.value for w in words]


def parse(text):
    return parse_script(text, 0)


def assert_raw_spans(source, commands):
    """Each word's span is its raw text, and each value character maps to itself in the source."""
    for cmd in commands:
        assert source[cmd.start:cmd.end].strip() == source[cmd.start:cmd.end]
        for word in cmd.words:
            assert cmd.start <= word.start <= word.end <= cmd.end
            for ch, offset in zip(word.value, word.offsets):
                assert source[offset] == ch


# --- operators and words ---------------------------------------------------------------------------------

def test_splits_on_list_and_pipe_operators():
    cmds = parse("a 1 && b || c; d | e & f |& g")
    assert [values(c.words) for c in cmds] == [["a", "1"], ["b"], ["c"], ["d"], ["e"], ["f"], ["g"]]
    assert [c.operator for c in cmds] == ["&&", "||", ";", "|", "&", "|", None]


def test_newlines_separate_but_not_after_an_operator():
    cmds = parse("a &&\n  b\n\nc\n")
    assert [values(c.words) for c in cmds] == [["a"], ["b"], ["c"]]
    assert [c.operator for c in cmds] == ["&&", "\n", None]


def test_quoting_rules():
    cmds = parse(r"""echo 'a "b" \n' "x \"y\" \$z \a" a\ b '' "" $'c\'d'""")
    assert values(cmds[0].words) == ["echo", 'a "b" \\n', 'x "y" $z \\a', "a b", "", "", "c\\'d"]
    assert all(w.quoted for w in cmds[0].words[1:])
    assert not cmds[0].words[0].quoted


def test_expansions_stay_in_the_word():
    cmd = parse('echo $HOME ${A:-"x y"} $(dirname "$(pwd)") `date` "v=$V" \'$lit\' cost$')[0]
    assert values(cmd.words) == ["echo", "$HOME", '${A:-"x y"}', '$(dirname "$(pwd)")', "`date`", "v=$V", "$lit", "cost$"]
    assert [w.expands for w in cmd.words] == [False, True, True, True, True, True, False, False]


def test_operators_inside_substitutions_do_not_split():
    cmds = parse('X=$(a && b | c; d) e "f && g"')
    assert len(cmds) == 1
    assert values(cmds[0].words) == ["X=$(a && b | c; d)", "e", "f && g"]


def test_comments():
    cmds = parse("a # b && c\nd x#y")
    assert [values(c.words) for c in cmds] == [["a"], ["d", "x#y"]]


def test_redirections_are_not_arguments():
    cmds = parse("cmd a >out 2>&1 b >> log 2> /dev/null < in &>all c >&2 d 3<&- e")
    assert values(cmds[0].words) == ["cmd", "a", "b", "c", "d", "e"]
    assert cmds[0].end == len("cmd a >out 2>&1 b >> log 2> /dev/null < in &>all c >&2 d 3<&- e")
    assert not cmds[0].unknown


def test_redirection_without_target_is_unknown():
    assert parse("echo a >")[0].unknown


def test_assignments_and_wrappers_are_stripped_from_argv():
    cmd = parse("PIP_NO_CACHE_DIR=1 A+=x sudo -E -u root env -i B=2 nice -n 5 nohup exec -a n time -p /usr/bin/pip3 install x")[0]
    assert values(cmd.argv) == ["/usr/bin/pip3", "install", "x"]
    assert cmd.name == "pip3"
    assert values(cmd.assignments) == ["PIP_NO_CACHE_DIR=1", "A+=x", "B=2"]


def test_quoted_assignment_is_an_argument():
    cmd = parse('"A=1" b')[0]
    assert values(cmd.argv) == ["A=1", "b"]
    assert cmd.assignments == []
    assert parse('A="1 2" b')[0].assignments[0].value == "A=1 2"


def test_wrapper_alone_or_querying_is_the_command():
    assert parse("env")[0].name == "env"
    assert parse("command -v pip")[0].name == "command"
    assert parse("command pip install x")[0].name == "pip"
    assert parse("A=1")[0].argv == []
    assert parse("A=1")[0].name == ""


# --- offsets --------------------------------------------------------------------------------------------

def test_word_spans_are_raw_source_text():
    source = "RUN  pip install 'a b' \"c\\\"d\" e\\ f $(x y)"
    base = source.index("pip")
    cmds = parse_script(source[base:], base)
    raw = [source[w.start:w.end] for w in cmds[0].words]
    assert raw == ["pip", "install", "'a b'", '"c\\"d"', "e\\ f", "$(x y)"]
    assert_raw_spans(source, cmds)
    assert (cmds[0].start, cmds[0].end) == (base, len(source))


def test_continuation_lines_via_logical_line():
    source = "FROM x\nRUN apt-get update && \\\n    # a comment\n    apt-get install -y \\\n      curl  \\\n  && rm -rf /x\n"
    src = SourceText("Dockerfile", source)
    mapped, last = logical_line(src, 2)
    assert last == 6
    keyword = len("RUN ")
    cmds = parse_shell(mapped.slice(keyword))
    assert [values(c.argv) for c in cmds] == [["apt-get", "update"], ["apt-get", "install", "-y", "curl"], ["rm", "-rf", "/x"]]
    curl = cmds[1].words[3]
    assert source[curl.start:curl.end] == "curl"
    assert src.position(curl.start) == (5, 7)
    assert source[cmds[1].start:cmds[1].end].startswith("apt-get install")
    assert_raw_spans(source, cmds)


def test_bash_c_is_replaced_by_its_commands_with_exact_offsets():
    source = 'set -x; bash -o pipefail -ec "pip install \'a b\' && echo \\"$X\\"" || true'
    cmds = parse(source)
    assert [values(c.argv) for c in cmds] == [["set", "-x"], ["pip", "install", "a b"], ["echo", "$X"], ["true"]]
    assert cmds[2].words[1].expands and cmds[2].words[1].quoted
    assert [c.operator for c in cmds] == [";", "&&", "||", None]
    inner = cmds[1].words[2]
    assert source[inner.start:inner.end] == "'a b'"
    assert source[cmds[1].start:cmds[1].end] == "pip install 'a b'"
    assert_raw_spans(source, cmds)


def test_shell_variants_and_one_level_only():
    for shell in ("sh -c", "/bin/bash -lc", "dash -xc", "sudo zsh -c", "bash --login -c"):
        assert parse(f"{shell} 'pip install x'")[0].name == "pip", shell
    nested = parse("""sh -c "bash -c 'pip install x'" """)
    assert nested[0].name == "bash"
    assert parse("bash script.sh")[0].name == "bash"
    assert parse("bash -c")[0].name == "bash"


def test_exec_form():
    source = '["/bin/sh", "-c", "apt-get update && apt-get install -y x"]'
    words = []
    for part in ("/bin/sh", "-c", "apt-get update && apt-get install -y x"):
        start = source.index(f'"{part}"') + 1
        words.append(Word(part, start - 1, start + len(part) + 1, tuple(range(start, start + len(part))), quoted=True))
    cmds = parse_exec(words)
    assert [values(c.argv) for c in cmds] == [["apt-get", "update"], ["apt-get", "install", "-y", "x"]]
    x = cmds[1].words[-1]
    assert source[x.start:x.end] == "x" and source[cmds[1].start:cmds[1].end] == "apt-get install -y x"
    plain = parse_exec(words[2:])
    assert len(plain) == 1 and plain[0].name == "apt-get update && apt-get install -y x"
    assert parse_exec([]) == []


# --- heredoc scripts and unknown constructs ---------------------------------------------------------------

def test_heredoc_script_with_base_offset_and_nested_heredoc():
    body = "set -e\npip install \\\n  x\ncat <<-'EOF' > /etc/conf\n\tpip install not-a-command\n\tEOF\necho done\n"
    cmds = parse_script(body, 100)
    assert [values(c.argv) for c in cmds] == [["set", "-e"], ["pip", "install", "x"], ["cat"], ["echo", "done"]]
    assert [c.unknown for c in cmds] == [False, False, True, False]
    x = cmds[1].words[2]
    assert body[x.start - 100:x.end - 100] == "x"
    assert cmds[-1].operator is None


def test_continuation_inside_a_script_is_not_part_of_the_word():
    body = "apt-get install\\\n  -y cu\\\nrl\\\n"
    cmd = parse_script(body, 0)[0]
    assert values(cmd.words) == ["apt-get", "install", "-y", "curl"]
    assert [body[w.start:w.end] for w in cmd.words] == ["apt-get", "install", "-y", "cu\\\nrl"]
    assert body[cmd.start:cmd.end] == body.rstrip("\\\n")


def test_heredoc_in_a_single_line_is_unknown():
    assert parse_shell(Mapped.plain("cat <<EOF")).pop().unknown
    assert not parse("cat <<< 'here string'")[0].unknown


def test_compound_commands_are_unknown_but_keep_their_tools():
    cmds = parse("if [ -f x ]; then pip install a; else echo b; fi; echo after")
    assert [c.unknown for c in cmds] == [True, True, True, True, False]
    assert cmds[1].name == "pip"
    assert cmds[3].argv == []
    loop = parse("for p in a b; do pip install $p; done && c")
    assert loop[0].name == "for" and loop[1].unknown and loop[1].name == "pip" and not loop[-1].unknown
    sub = parse("(cd x && make) && { a; b; } && ok")
    assert [c.unknown for c in sub] == [True, True, True, True, True, False]
    assert parse("! grep -q x f")[0].name == "grep"
    assert not parse("! grep -q x f")[0].unknown
    assert parse('echo if then "fi"')[0].name == "echo"


def test_unterminated_constructs_are_unknown():
    for text in ("echo 'a", 'echo "a', "echo $(a", "echo `a", "echo ${a", "echo $'a"):
        cmds = parse(text)
        assert cmds and cmds[-1].unknown, text


def test_parse_args_forms():
    words = parse("-yq --opt=v -ofoo -o bar --long val pos -- -z")[0].words
    options, positionals = parse_args(words, {"-o", "--long"})
    assert [(o.name, o.value.value if o.value else None) for o in options] == [
        ("-y", None), ("-q", None), ("--opt", "v"), ("-o", "foo"), ("-o", "bar"), ("--long", "val")]
    assert values(positionals) == ["pos", "-z"]
    source = "--opt='a b'"
    value = parse(source)[0].words[0].tail(len("--opt="))
    assert value.value == "a b" and source[value.start:value.end] == "'a b'"


# --- robustness -----------------------------------------------------------------------------------------

# Single shell-significant characters plus a few multi-character constructs worth combining.
SHELLISH = st.sampled_from(list("ab -=$(){}`'\"\\;&|<>#\n\t!*0") + ["bash -c ", "<<EOF\n", "EOF", "if ", "fi"])


@settings(max_examples=400, deadline=None)
@given(st.lists(SHELLISH, max_size=40).map("".join), st.integers(min_value=0, max_value=50))
def test_fuzz_never_raises_and_spans_stay_in_input(text, base):
    for cmds in (parse_script(text, base), parse_shell(Mapped.plain(text, base))):
        for cmd in cmds:
            assert isinstance(cmd, Command)
            assert base <= cmd.start <= cmd.end <= base + len(text)
            _ = cmd.argv, cmd.name, cmd.assignments
            for word in cmd.words:
                assert base <= word.start <= word.end <= base + len(text)
                assert len(word.offsets) == len(word.value)
                assert all(base <= o < base + len(text) for o in word.offsets)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_fuzz_arbitrary_text(text):
    for cmd in parse_script(text, 0):
        for word in cmd.words:
            assert 0 <= word.start <= word.end <= len(text)


def test_long_commands_are_fast_enough():
    text = "pip install " + " ".join(f"'pkg{i}>=1' $V{i}" for i in range(3000))
    cmds = parse(text)
    assert len(cmds[0].words) == 6002


def test_case_arms_are_commands_after_their_pattern():
    text = ('case ${TARGETPLATFORM} in\n'
            '  "linux/arm64")  pip install torch ;;\n'
            '  *)  pip install --extra-index-url https://x torchvision ;;\n'
            'esac && conda clean -ya\n')
    argvs = [[w.value for w in c.argv] for c in parse_script(text, 0)]
    assert ["pip", "install", "torch"] in argvs
    assert ["pip", "install", "--extra-index-url", "https://x", "torchvision"] in argvs
    assert ["conda", "clean", "-ya"] in argvs
