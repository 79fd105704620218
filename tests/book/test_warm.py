"""The warm start (`book.warm`), as a user meets it: `twilio-book run` and `check` in processes of their own, on the
sandbox, with the warm runtime on (every other test turns it off), each test with a home and a runtime of its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from book import warm
from tests import ROOT
from tests.processes import book_command, environment

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the warm start is Linux's (fork, pidfd)")
WARM = {"TWILIO_BOOK_WARM": "1", "TWILIO_BOOK_WARM_IDLE": "60"}
SEND = str(ROOT / "examples" / "send.auto")
REPLY = str(ROOT / "examples" / "auto_reply.auto")


@pytest.fixture
def home(tmp_path: Path):
    path = tmp_path / "home"
    yield path
    book_command("warm", "stop", home=path, env=WARM)


def command(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return book_command(*args, home=home, env={**WARM, **env})


def serving(home: Path, timeout: float = 30.0) -> dict:
    """The home's runtime's status, once it answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = warm.status(home)
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no warm runtime answered; its log:\n{log(home)}")


def log(home: Path) -> str:
    try:
        return (home / "warm.log").read_text()
    except OSError:
        return "(none)"


def sent(home: Path) -> list[str]:
    """The SIDs of the messages in the home's sandbox."""
    from sandbox import open_sandbox

    sandbox = open_sandbox(home)
    try:
        return [sid for (sid,) in sandbox.store.query("SELECT sid FROM messages")]
    finally:
        sandbox.close()


def test_the_first_run_starts_a_runtime_and_the_next_ones_are_run_by_it_as_a_cold_start_runs_them(home):
    cold = command("run", SEND, home=home, TWILIO_BOOK_WARM="0")
    assert cold.returncode == 0, cold.stderr
    assert not (home / "warm.sock").exists()  # turned off: none started
    first = command("run", SEND, home=home)  # runs cold, and starts the runtime beside it
    assert first.returncode == 0, first.stderr
    assert serving(home)["served"] == 0
    runs = [command("run", SEND, home=home), command("run", "--output", "json", SEND, home=home)]
    found = serving(home)
    assert found["served"] == 2 and found["running"] == 0
    for done in runs:
        assert done.returncode == 0, done.stderr
        assert done.stderr.startswith("twilio-book: using the local sandbox at http://127.0.0.1:")
    assert runs[0].stdout.startswith("SM") and runs[0].stdout.strip() == runs[0].stdout.strip().split()[0]
    assert runs[1].stdout.startswith('"SM')  # JSON: the message's SID
    # each run sent its message once: two cold, two warm, and each SID printed is one of them
    messages = sent(home)
    assert len(messages) == 4
    assert {cold.stdout.strip(), first.stdout.strip(), runs[0].stdout.strip()} <= set(messages)


def test_what_a_command_imported_is_learned_so_the_next_start_has_it_loaded(home):
    command("run", SEND, home=home)
    before = serving(home)["modules"]
    assert command("run", SEND, home=home).returncode == 0
    after = serving(home)["modules"]
    assert after > before  # the SDK and the sandbox, imported after the first warm run
    learned = (home / "warm.modules").read_text()
    assert '"twilio.rest"' in learned
    assert '"asyncio.tasks"' in learned and '"_asyncio"' not in learned  # imported by asyncio: not before it
    assert command("warm", "stop", home=home).returncode == 0
    command("run", SEND, home=home)  # a new runtime starts with what the last one learned
    assert serving(home)["modules"] >= after - 5


def test_a_mistake_in_the_english_is_reported_as_a_cold_start_reports_it(home, tmp_path):
    bad = tmp_path / "bad.auto"
    bad.write_text('send an SMS message where\n  the sender nmber is "+15005550006"\n', encoding="utf-8")
    cold = command("run", str(bad), home=home, TWILIO_BOOK_WARM="0")
    command("check", SEND, home=home)
    serving(home)
    for args in (("run", str(bad)), ("check", str(bad))):
        done = command(*args, home=home)
        assert done.returncode == 2
        if args[0] == "run":
            assert done.stderr == cold.stderr
        assert f"{bad}:2:7:" in done.stderr and "Traceback" not in done.stderr
    assert serving(home)["served"] == 2
    assert sent(home) == []


def test_an_automation_on_standard_input_is_handed_over_with_it(home):
    command("check", SEND, home=home)
    serving(home)
    done = book_command("run", "-", home=home, env=WARM, stdin=Path(SEND).read_text())
    assert done.returncode == 0, done.stderr
    assert serving(home)["served"] == 1
    assert sent(home) == [done.stdout.strip()]


@contextmanager
def watching(home: Path, prepare: Callable[[], None] | None = None) -> Iterator[subprocess.Popen[str]]:
    """`run auto_reply.auto` (it runs until stopped), handed over by a client that `prepare()` set up as it started
    (its signals, limits, nice); killed at the end if it still runs."""
    command("check", SEND, home=home)
    serving(home)
    watch = subprocess.Popen([sys.executable, "-m", "procedures", "run", REPLY], cwd=ROOT, text=True,
                             env=environment(home, **WARM), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             preexec_fn=prepare)
    try:
        yield watch
    finally:
        if watch.poll() is None:
            watch.kill()
        watch.wait(timeout=10)


def _until_running(home: Path) -> None:
    deadline = time.monotonic() + 30
    while serving(home)["running"] != 1:
        assert time.monotonic() < deadline, log(home)
        time.sleep(0.05)


def test_ctrl_c_reaches_the_command_which_stops_gently(home):
    with watching(home) as watch:
        _until_running(home)
        time.sleep(1.0)  # its watch has started
        watch.send_signal(signal.SIGINT)
        out, err = watch.communicate(timeout=30)
        assert watch.returncode == 0, err
        assert "stopping after the item in hand" in err
        assert "handed on" in out
        assert serving(home)["running"] == 0


def test_a_killed_client_takes_its_command_with_it(home):
    with watching(home) as watch:
        _until_running(home)
        watch.kill()
        watch.wait(timeout=10)
    deadline = time.monotonic() + 10
    while serving(home)["running"]:
        assert time.monotonic() < deadline, "the command of a killed client went on running"
        time.sleep(0.05)


def test_a_command_killed_by_a_signal_ends_its_client_by_the_same_signal(home):
    with watching(home) as watch:
        _until_running(home)
        watch.send_signal(signal.SIGHUP)  # forwarded: the command dies of it, as it would have cold
        assert watch.wait(timeout=30) == -signal.SIGHUP


def test_a_module_changed_on_disk_stops_the_runtime_and_the_command_runs_cold(home, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    custom = site / "sitecustomize.py"
    custom.write_text("LOADED = 1\n", encoding="utf-8")
    env = {"PYTHONPATH": str(site)}
    command("check", SEND, home=home, **env)
    pid = serving(home)["pid"]
    custom.write_text("LOADED = 22\n", encoding="utf-8")
    done = command("run", SEND, home=home, **env)
    assert done.returncode == 0, done.stderr
    assert sent(home) == [done.stdout.strip()]
    assert f"declined a command: {custom} changed" in log(home)
    assert serving(home)["pid"] != pid  # the client started a new one
    assert serving(home)["served"] == 0


def test_a_client_with_other_interpreter_settings_is_declined_and_runs_cold(home):
    command("check", SEND, home=home, LC_ALL="C.UTF-8")
    pid = serving(home)["pid"]
    done = command("check", SEND, home=home, LC_ALL="C")
    assert done.returncode == 0 and "ok" in done.stdout
    assert "declined a command: another " in log(home)  # LC_ALL (with C, its options too: UTF-8 mode)
    assert serving(home)["pid"] != pid


def test_an_idle_runtime_stops_by_itself(home):
    command("check", SEND, home=home, TWILIO_BOOK_WARM_IDLE="0.5")
    serving(home)
    deadline = time.monotonic() + 15
    while warm.status(home) is not None:
        assert time.monotonic() < deadline, log(home)
        time.sleep(0.1)
    assert "idle for 0.5 s; served 0 commands" in log(home)
    assert not (home / "warm.sock").exists()


def test_status_and_stop(home):
    assert command("warm", "status", home=home).returncode == 1
    command("check", SEND, home=home)
    pid = serving(home)["pid"]
    shown = command("warm", "status", home=home)
    assert shown.returncode == 0 and f"pid {pid}" in shown.stdout
    stopped = command("warm", "stop", home=home)
    assert stopped.returncode == 0 and f"stopped the warm runtime of {home} (pid {pid}" in stopped.stdout
    assert not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"  # ended
    assert "no warm runtime serves" in command("warm", "status", home=home).stdout


def test_the_socket_is_the_users_alone(home):
    command("check", SEND, home=home)
    serving(home)
    assert (home / "warm.sock").stat().st_mode & 0o777 == 0o600
    assert home.stat().st_mode & 0o777 == 0o700


def test_a_runtime_that_hangs_up_before_it_takes_the_command_leaves_it_to_run_cold(home):
    import socket
    import threading

    home.mkdir(parents=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(home / "warm.sock"))
    listener.listen(1)
    answered = threading.Event()

    def hang_up() -> None:
        client, _ = listener.accept()
        client.recv(4)
        client.close()
        answered.set()

    threading.Thread(target=hang_up, daemon=True).start()
    try:
        done = command("run", SEND, home=home)
    finally:
        listener.close()
    assert answered.is_set()
    assert done.returncode == 0, done.stderr
    assert sent(home) == [done.stdout.strip()]  # sent once, here


def _the_command(home: Path) -> int:
    _until_running(home)
    (pid,) = serving(home)["commands"]
    return pid


def test_a_client_that_ignores_sighup_nohup_has_a_command_that_ignores_it_too(home):
    with watching(home, lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN)) as watch:
        child = _the_command(home)
        ignored = next(line for line in Path(f"/proc/{child}/status").read_text().splitlines()
                       if line.startswith("SigIgn:"))
        assert int(ignored.split()[1], 16) & (1 << (signal.SIGHUP - 1))  # the command ignores it itself
        time.sleep(1.0)
        watch.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        assert watch.poll() is None and serving(home)["running"] == 1
        watch.send_signal(signal.SIGINT)
        assert watch.wait(timeout=30) == 0


def test_ctrl_z_stops_the_command_with_its_client_and_fg_goes_on(home):
    def state(pid: int) -> str:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]

    # a job of its own, as a shell makes it: a stop signal to an orphaned process group (as the test's may be, when
    # the suite itself runs in the background) is discarded by the kernel, cold or warm
    with watching(home, prepare=lambda: os.setpgid(0, 0)) as watch:
        child = _the_command(home)
        time.sleep(1.0)  # its watch has started
        watch.send_signal(signal.SIGTSTP)
        deadline = time.monotonic() + 10
        while state(child) != "T" or state(watch.pid) != "T":
            assert time.monotonic() < deadline, (state(child), state(watch.pid))
            time.sleep(0.05)
        watch.send_signal(signal.SIGCONT)
        while state(child) == "T" or state(watch.pid) == "T":
            assert time.monotonic() < deadline, (state(child), state(watch.pid))
            time.sleep(0.05)
        watch.send_signal(signal.SIGINT)
        assert watch.wait(timeout=30) == 0


def test_the_command_has_its_clients_limits_and_nice_value(home):
    import resource

    def prepare() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (200, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
        os.nice(3)

    with watching(home, prepare):
        child = _the_command(home)
        limits = Path(f"/proc/{child}/limits").read_text()
        assert any(line.startswith("Max open files") and line.split()[3] == "200" for line in limits.splitlines())
        assert os.getpriority(os.PRIO_PROCESS, child) == os.getpriority(os.PRIO_PROCESS, 0) + 3


def test_the_runtime_keeps_none_of_its_first_clients_files_and_none_of_its_ignored_sigchld(home):
    reading, writing = os.pipe()
    try:
        first = subprocess.Popen([sys.executable, "-m", "procedures", "check", SEND], cwd=ROOT, text=True,
                                 env=environment(home, **WARM), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 pass_fds=(writing,),
                                 preexec_fn=lambda: signal.signal(signal.SIGCHLD, signal.SIG_IGN))
        os.close(writing)
        first.communicate(timeout=60)
        assert first.returncode == 0  # its daemon's start did not trip on SIGCHLD ignored
        serving(home)
        import select

        assert select.select([reading], [], [], 10)[0] and os.read(reading, 1) == b""  # no one else holds it
    finally:
        os.close(reading)
    done = command("run", SEND, home=home)  # its child is reaped by the runtime, its status known
    assert done.returncode == 0, done.stderr
    assert serving(home)["served"] == 1


def test_a_data_file_of_a_loaded_package_changed_stops_the_runtime(home, tmp_path):
    site = tmp_path / "site"
    (site / "probe").mkdir(parents=True)
    (site / "probe" / "__init__.py").write_text("from pathlib import Path\n"
                                                "WORDS = (Path(__file__).parent / 'words.txt').read_text()\n")
    words = site / "probe" / "words.txt"
    words.write_text("where\n")
    (site / "sitecustomize.py").write_text("import probe\n")
    env = {"PYTHONPATH": str(site)}
    command("check", SEND, home=home, **env)
    pid = serving(home)["pid"]
    words.write_text("whose\n")
    assert command("check", SEND, home=home, **env).returncode == 0
    assert f"declined a command: {words} changed" in log(home)
    assert serving(home)["pid"] != pid


def test_a_runtime_that_makes_way_hands_the_home_over_while_its_commands_finish(home):
    with watching(home) as watch:
        old = serving(home)["pid"]
        _until_running(home)
        assert command("check", SEND, home=home, LC_ALL="C").returncode == 0  # declined: the runtime makes way
        deadline = time.monotonic() + 30
        while (found := warm.status(home)) is None or found["pid"] == old:
            assert time.monotonic() < deadline, log(home)
            time.sleep(0.05)
        assert command("check", SEND, home=home, LC_ALL="C").returncode == 0  # served by its successor (C)
        assert serving(home)["served"] >= 1
        assert watch.poll() is None  # the old one's command goes on
        watch.send_signal(signal.SIGINT)
        assert watch.wait(timeout=30) == 0


def test_a_command_killed_outright_kills_its_client_the_same_way(home):
    with watching(home) as watch:
        os.kill(_the_command(home), signal.SIGKILL)  # as the kernel's out-of-memory killer does
        assert watch.wait(timeout=30) == -signal.SIGKILL
        assert "Traceback" not in watch.stderr.read()


def _fake_runtime(home: Path, answer: dict, delay: float = 0.0) -> tuple[Any, Any]:
    """A socket at the runtime's place that accepts a command, is told go, and answers `answer` (`delay` s later)."""
    import json
    import socket
    import threading

    home.mkdir(parents=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(home / "warm.sock"))
    listener.listen(1)
    said: list[bytes] = []

    def serve() -> None:
        client, _ = listener.accept()
        head, fds, _, _ = socket.recv_fds(client, 4, 3)
        length = int.from_bytes(head, "big")
        body = b""
        while len(body) < length:
            body += client.recv(length - len(body))
        for fd in fds:
            os.close(fd)
        client.sendall(b'{"accept": true}\n')
        said.append(client.recv(3, socket.MSG_WAITALL))
        time.sleep(delay)
        client.sendall(json.dumps(answer).encode() + b"\n")
        client.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, said


@contextmanager
def turned_away(home: Path, delay: float = 0.0) -> Iterator[subprocess.Popen[str]]:
    """`run auto_reply.auto` whose client has said go to a runtime that answers, `delay` s later, that it could not
    start it (`{"not_started": ...}`); the client killed at the end if it still runs."""
    listener, said = _fake_runtime(home, {"not_started": "could not fork"}, delay)
    client = subprocess.Popen([sys.executable, "-m", "procedures", "run", REPLY], cwd=ROOT, text=True,
                              env=environment(home, **WARM), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not said:
            assert time.monotonic() < deadline and client.poll() is None
            time.sleep(0.01)
        assert said == [b"go\n"]
        yield client
    finally:
        if client.poll() is None:
            client.kill()
        client.wait(timeout=10)
        listener.close()


def test_a_command_the_runtime_could_not_start_runs_cold_with_its_own_signals(home):
    with turned_away(home) as client:
        client.stderr.readline()  # "using the local sandbox": it runs here now
        client.send_signal(signal.SIGHUP)  # no longer caught to be passed on: it ends the command, as cold
        assert client.wait(timeout=30) == -signal.SIGHUP


def test_a_runtime_with_other_warning_options_is_declined(home):
    warned = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-m", "procedures", "check", SEND],
                            cwd=ROOT, env=environment(home, **WARM), capture_output=True, text=True, timeout=60)
    assert warned.returncode == 0, warned.stderr
    pid = serving(home)["pid"]
    assert command("check", SEND, home=home).returncode == 0
    assert "declined a command: another interpreter's options" in log(home)
    assert serving(home)["pid"] != pid


def test_a_runtime_whose_socket_is_taken_over_stops_and_leaves_the_new_one(home):
    import socket

    command("check", SEND, home=home)
    pid = serving(home)["pid"]
    (home / "warm.sock").unlink()
    taker = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    taker.bind(str(home / "warm.sock"))
    try:
        deadline = time.monotonic() + 15
        while Path(f"/proc/{pid}").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z":
            assert time.monotonic() < deadline, log(home)
            time.sleep(0.1)
        assert "its socket was removed or taken over" in log(home)
        assert (home / "warm.sock").exists()  # the taker's, left alone
    finally:
        taker.close()


def test_a_command_started_in_a_removed_folder_runs_cold(home, tmp_path):
    command("check", SEND, home=home)
    serving(home)
    gone = tmp_path / "gone"
    program = Path(sys.executable).with_name("twilio-book")
    done = subprocess.run(["sh", "-c", f'mkdir "{gone}" && cd "{gone}" && rmdir "{gone}" && "{program}" check "{SEND}"'],
                          env=environment(home, **WARM), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr
    assert "Traceback" not in done.stderr


def test_in_a_terminal_the_output_comes_and_a_typed_ctrl_c_reaches_the_command(home):
    import pty
    import select

    command("check", SEND, home=home)
    serving(home)
    pid, terminal = pty.fork()
    if pid == 0:  # the user's shell: the command in the foreground of a terminal of its own
        os.chdir(ROOT)
        os.execve(sys.executable, [sys.executable, "-m", "procedures", "run", REPLY], environment(home, **WARM))
    seen = b""
    typed = False
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if select.select([terminal], [], [], 0.1)[0]:
                try:
                    data = os.read(terminal, 4096)
                except OSError:  # the terminal closed: the command ended
                    break
                if not data:
                    break
                seen += data
            if not typed and b"press Ctrl-C to stop" in seen:
                time.sleep(0.5)
                os.write(terminal, b"\x03")  # the terminal sends SIGINT to its foreground: the client
                typed = True
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(terminal)
    assert typed, seen.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0
    assert b"stopping after the item in hand" in seen and b"handed on         0" in seen
    assert serving(home)["served"] == 1


def test_a_signal_that_came_while_the_runtime_had_the_command_is_raised_again_when_it_runs_cold(home):
    with turned_away(home, delay=1.0) as client:
        client.send_signal(signal.SIGTERM)  # queued for a child that never comes
        assert client.wait(timeout=30) == -signal.SIGTERM  # raised again once it is its own: it ends as cold


def test_a_client_with_a_closed_stdout_runs_cold(home):
    command("check", SEND, home=home)
    serving(home)
    program = Path(sys.executable).with_name("twilio-book")
    done = subprocess.run(["sh", "-c", f'exec 1>&-; "{program}" check "{SEND}"'], env=environment(home, **WARM),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert serving(home)["served"] == 0


def test_a_client_of_a_higher_priority_than_the_runtime_can_give_makes_it_make_way(home):
    niced = subprocess.run([sys.executable, "-m", "procedures", "check", SEND], cwd=ROOT, capture_output=True,
                           env=environment(home, **WARM), preexec_fn=lambda: os.nice(3), timeout=60)
    assert niced.returncode == 0
    pid = serving(home)["pid"]
    assert os.getpriority(os.PRIO_PROCESS, pid) == os.getpriority(os.PRIO_PROCESS, 0) + 3
    assert command("check", SEND, home=home).returncode == 0
    assert "declined a command: a higher priority than the runtime's (nice)" in log(home)
    assert serving(home)["pid"] != pid


def test_a_runtime_that_could_not_serve_is_not_started_again_at_every_command(home, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import threading, time\n"
                                           "threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n")
    env = {"PYTHONPATH": str(site)}
    assert command("check", SEND, home=home, **env).returncode == 0
    deadline = time.monotonic() + 30
    while not (home / "warm.failed").exists():
        assert time.monotonic() < deadline, log(home)
        time.sleep(0.05)
    time.sleep(0.5)
    assert command("check", SEND, home=home, **env).returncode == 0
    time.sleep(2.0)
    assert log(home).count("can't fork: not serving") == 1
