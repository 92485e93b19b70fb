#!/usr/bin/env python3
"""Answer qrexec policy requests with Qubes' own implementation, over a pipe.

The differential tester (difftest/run.mjs) starts one of these per worker and
feeds it one JSON object per line; each gets exactly one JSON line back.
The reference (the `qrexec` package of QubesOS/qubes-core-qrexec) is NOT part
of this repository: it is imported from the directory given with --reference
(or $QREXEC_REFERENCE), the directory that holds the `qrexec/` package.

Input line:
  {"id": N, "policy": [DIR, ...], "legacy": DIR, "legacy_mode": BOOL,
   "system_info": {"domains": {...}},
   "requests": [{"source", "target", "service", "requested_source"?}, ...]}
Output line:
  {"id": N, "load": null | {"kind": "denied"|"crash", "message"},
   "answers": [ANSWER, ...]}
ANSWER:
  {"decision": {result, requested_target, target, targets, default_target,
                user, autostart, notify, rule: {file, line} | null, reason,
                crash: null | "Type: message"},
   "exec": BLOCK | null, "exec_yes": BLOCK, "just_evaluate": {"exit": 0|1},
   each of the three as {"block"/"exit", "crash": null | "..."}}

Everything here drives the reference through its public classes the way its
own qrexec-policy-exec does; nothing of it is copied.
"""

import argparse
import asyncio
import json
import logging
import os
import pathlib
import sys
import traceback
import types

DEFAULTS = {
    # SPEC §5.1: fields a qubesd always sends; a generated document may omit
    # them, and the SPEC gives their defaults. uuid, internal, relayvm and
    # transport_rpc stay absent when absent (the reference reads them with
    # .get() or treats their absence as meaningful).
    "tags": [],
    "template_for_dispvms": False,
    "default_dispvm": None,
    "power_state": "Halted",
    "guivm": None,
    "icon": "",
    "label": "",
}


def import_reference(refdir):
    """Import the reference from refdir, with a stub for pyinotify (daemon only)."""
    if "pyinotify" not in sys.modules:
        stub = types.ModuleType("pyinotify")

        class WatchManager:  # pylint: disable=too-few-public-methods
            """never used: policy is loaded here, not watched"""

        class ProcessEvent:  # pylint: disable=too-few-public-methods
            """base class of the reference's PolicyWatcher"""

        stub.WatchManager = WatchManager
        stub.ProcessEvent = ProcessEvent
        sys.modules["pyinotify"] = stub
    sys.path.insert(0, os.path.abspath(refdir))
    # pylint: disable=import-outside-toplevel
    from qrexec import exc
    from qrexec.policy import parser, parser_compat
    from qrexec.tools import qrexec_policy_exec

    if not os.path.abspath(parser.__file__).startswith(os.path.abspath(refdir)):
        raise SystemExit(
            "oracle: imported qrexec from %s, not from %s" % (parser.__file__, refdir)
        )
    return exc, parser, parser_compat, qrexec_policy_exec


class AgentNeeded(Exception):
    """An ask without --assume-yes-for-ask would go to a GUI agent: not comparable."""


def crash_text(err):
    return "%s: %s" % (type(err).__name__, err)


def system_info_for_reference(doc):
    """The document as qrexec.utils.get_system_info() returns it: each entry
    gets its name, and a `uuid:UUID` alias key when it has a uuid."""
    inner = {}
    for name, entry in doc["domains"].items():
        e = dict(DEFAULTS)
        e.update(entry)
        e["name"] = name
        inner[name] = e
    for name, entry in list(inner.items()):
        if "uuid" in entry:
            inner["uuid:" + entry["uuid"]] = entry
    return {"domains": inner}


class Oracle:
    def __init__(self, refdir):
        self.loop = asyncio.new_event_loop()
        (self.exc, self.parser, self.compat, self.exec_tool) = import_reference(refdir)
        self.log = logging.getLogger("difftest-reference")
        self.log.addHandler(logging.NullHandler())
        self.log.propagate = False
        # the reference logs warnings through the root logger: keep stdout clean
        logging.getLogger().handlers[:] = [logging.NullHandler()]
        logging.getLogger().setLevel(logging.CRITICAL + 1)

        async def no_notify(guivm, params):  # pylint: disable=unused-argument
            return None

        async def no_agent(*args, **kwargs):
            raise AgentNeeded()

        self.exec_tool.notify = no_notify
        self.exec_tool.call_socket_service = no_agent

    # ------------------------------------------------------------- loading

    def load(self, case):
        """The policy object, or raise what loading raised."""
        self.compat.POLICYPATH_OLD = pathlib.Path(case["legacy"])
        return self.parser.FilePolicy(
            policy_path=[pathlib.Path(p) for p in case["policy"]]
        )

    def legacy_policy(self, case, service, argument):
        """--legacy (SPEC §4.4): the R4.0 file SVC+ARG, else SVC, read by the
        reference's own service-file reader into an otherwise empty policy."""
        parser, exc = self.parser, self.exc
        ldir = pathlib.Path(case["legacy"])

        class Master(parser.AbstractPolicy):
            def handle_include(self, *a, **k):
                raise exc.PolicySyntaxError(None, None, "not in R4.0 files")

            handle_include_dir = handle_include
            handle_include_service = handle_include
            handle_compat40 = handle_include

        if not ldir.is_dir():
            raise exc.AccessDenied("legacy directory does not exist")
        master = Master()
        loader = self.compat.Compat40Loader(master=master, legacy_path=ldir)
        for name, arg in ((service + argument, argument), (service, "*")):
            if self.parser.get_invalid_characters(name) or name.startswith("."):
                continue
            if any(name.endswith(s) for s in self.compat.IGNORED_SUFFIXES):
                continue
            if (ldir / name).is_file():
                loader.handle_include_service(
                    service, arg, pathlib.PurePosixPath(name), filepath=None, lineno=None
                )
                return master
        raise exc.AccessDenied("policy not found")

    # ------------------------------------------------------------ deciding

    def decision(self, policy, si, req):
        """What `qrexec-policy eval --json` is compared with (SPEC §3.3)."""
        parser, exc = self.parser, self.exc
        service, argument = split_service(req["service"])
        out = {
            "result": "deny",
            "requested_target": None,
            "target": None,
            "targets": None,
            "default_target": None,
            "user": None,
            "autostart": None,
            "notify": None,
            "rule": None,
            "reason": "",
            "crash": None,
        }
        try:
            request = parser.Request(
                service,
                argument,
                req["source"],
                req["target"],
                system_info=si,
                requested_source=req.get("requested_source") or "",
            )
        except exc.AccessDenied as err:
            out["reason"] = "bad request: %s" % err
            return out
        except Exception as err:  # pylint: disable=broad-except
            out["crash"] = crash_text(err)
            return out
        out["requested_target"] = str(request.target)
        try:
            try:
                rule = policy.find_matching_rule(request)
                out["rule"] = {"file": str(rule.filepath), "line": rule.lineno}
            except exc.AccessDenied:
                rule = None
            resolution = policy.evaluate(request)
            if isinstance(resolution, parser.AllowResolution):
                # execute() makes the final checks (loopback, RemoteVM relay)
                self.loop.run_until_complete(resolution.execute())
                out.update(
                    result="allow",
                    target=str(resolution.target),
                    user=resolution.user,
                    autostart=resolution.autostart,
                    notify=resolution.notify,
                )
            else:
                out.update(
                    result="ask",
                    targets=sorted(str(t) for t in resolution.targets_for_ask),
                    default_target=(
                        None
                        if resolution.default_target is None
                        else str(resolution.default_target)
                    ),
                    user=resolution.user,
                    autostart=resolution.autostart,
                    notify=resolution.notify,
                )
        except exc.AccessDenied as err:
            out.update(result="deny", reason=str(err), notify=err.notify, target=None,
                       targets=None, default_target=None, user=None, autostart=None)
        except Exception as err:  # pylint: disable=broad-except
            out.update(result="deny", crash=crash_text(err))
        return out

    def run_exec(self, policy_or_error, si, req, *, just_evaluate, assume_yes):
        """What qrexec-policy-exec prints, through the reference's own handle_request."""

        class Cache:  # pylint: disable=too-few-public-methods
            @staticmethod
            def get_policy():
                if isinstance(policy_or_error, BaseException):
                    raise policy_or_error
                return policy_or_error

        try:
            block = self.loop.run_until_complete(
                self.exec_tool.handle_request(
                    req["source"],
                    req["target"],
                    req["service"],
                    self.log,
                    just_evaluate=just_evaluate,
                    assume_yes_for_ask=assume_yes,
                    policy_cache=Cache,
                    system_info=si,
                    requested_source=req.get("requested_source") or None,
                )
            )
            return {"block": block, "crash": None}
        except AgentNeeded:
            return {"block": None, "crash": None, "agent": True}
        except Exception as err:  # pylint: disable=broad-except
            return {"block": "result=deny", "crash": crash_text(err)}

    def answer(self, policy_or_error, si, req, case):
        if case.get("legacy_mode"):
            service, argument = split_service(req["service"])
            try:
                policy_or_error = self.legacy_policy(case, service, argument)
            except Exception as err:  # pylint: disable=broad-except
                policy_or_error = err
        if isinstance(policy_or_error, BaseException):
            err = policy_or_error
            dec = self.load_error_decision(si, req, err)
        else:
            dec = self.decision(policy_or_error, si, req)
        plain = self.run_exec(policy_or_error, si, req, just_evaluate=False, assume_yes=False)
        yes = self.run_exec(policy_or_error, si, req, just_evaluate=False, assume_yes=True)
        je = self.run_exec(policy_or_error, si, req, just_evaluate=True, assume_yes=False)
        je_exit = 0 if je["block"] == "result=allow" else 1
        return {
            "decision": dec,
            "exec": plain,
            "exec_yes": yes,
            "just_evaluate": {"exit": je_exit, "crash": je["crash"]},
        }

    def load_error_decision(self, si, req, err):
        """A policy that failed to load denies everything (both sides)."""
        service, argument = split_service(req["service"])
        out = {
            "result": "deny", "requested_target": None, "target": None,
            "targets": None, "default_target": None, "user": None,
            "autostart": None, "notify": None, "rule": None,
            "reason": "policy failed to load: %s" % err,
            "crash": None if isinstance(err, self.exc.AccessDenied) else crash_text(err),
        }
        try:
            request = self.parser.Request(
                service, argument, req["source"], req["target"], system_info=si,
                requested_source=req.get("requested_source") or "",
            )
            out["requested_target"] = str(request.target)
        except Exception:  # pylint: disable=broad-except
            pass
        return out

    def case(self, case):
        si = system_info_for_reference(case["system_info"])
        load = None
        try:
            policy = None if case.get("legacy_mode") else self.load(case)
        except Exception as err:  # pylint: disable=broad-except
            policy = err
            kind = "denied" if isinstance(err, self.exc.AccessDenied) else "crash"
            load = {"kind": kind, "message": crash_text(err)}
        answers = [self.answer(policy, si, req, case) for req in case["requests"]]
        return {"id": case.get("id"), "load": load, "answers": answers}


def split_service(service_and_arg):
    """SERVICE[+ARG] split at the first +, as qrexec-policy-exec does."""
    i = service_and_arg.find("+")
    if i < 0:
        return service_and_arg, "+"
    return service_and_arg[:i], service_and_arg[i:]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument(
        "--reference",
        default=os.environ.get("QREXEC_REFERENCE"),
        help="directory holding the reference's qrexec/ package (or $QREXEC_REFERENCE)",
    )
    args = ap.parse_args()
    if not args.reference or not os.path.isdir(os.path.join(args.reference, "qrexec")):
        print(
            "oracle: give --reference DIR (or QREXEC_REFERENCE): the directory that holds "
            "qubes-core-qrexec's qrexec/ package",
            file=sys.stderr,
        )
        return 2
    oracle = Oracle(args.reference)
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            reply = oracle.case(json.loads(line))
        except Exception:  # pylint: disable=broad-except
            reply = {"fatal": traceback.format_exc()}
        out.write(json.dumps(reply) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
