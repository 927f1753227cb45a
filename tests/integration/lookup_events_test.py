#!/usr/bin/env python3
"""End-to-end proof of issue #5 (LookupEvents) with tools nobody here wrote.

`trailkit demo` records a known set of events into local log files and its event history
(<state>/history.sqlite3); the expected answers come from the log files alone (decompressed here,
filtered and ordered by this script's own reading of the CloudTrail rules). `trailkit serve` answers
LookupEvents and the *stock* `aws cloudtrail lookup-events --endpoint-url ...` must return exactly the
expected events, newest first, for:
  each of the eight lookup attributes (values picked from the recorded events), a time window,
  --event-category insight, and a paginated listing (--page-size 7 --max-items 40, then
  --starting-token until the end: the CLI follows NextToken);
with every member checked (CloudTrailEvent parses to the record of the log file). It also shows:
  two attributes -> InvalidLookupAttributesException, --max-results 51 -> InvalidMaxResultsException,
  a wrong secret -> HTTP 403 InvalidSignatureException, boto3's lookup_events paginator gets the same
  events as the CLI, `trailkit lookup` prints byte-for-byte what the CLI prints (also with --max-items /
  --starting-token: the same botocore resume tokens, cut mid-page and on a page boundary, and awscli's
  errors for --max-items with --max-results and for bad starting tokens), ListTrails /
  GetEventSelectors / GetInsightSelectors answer for the served trail, and a server started with
  --lookup-rate-limit 1 answers ThrottlingException (HTTP 400) that botocore retries.

usage: lookup_events_test.py --trailkit PATH [--keep]
Starts `trailkit serve` itself (ephemeral port) and stops it by PID; removes its scratch directory.
"""
import argparse
import base64
import calendar
import datetime
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ACCOUNT = "111122223333"
REGION = "us-east-1"
TRAIL = "lookup-trail"
KEY_ID = "AKIDLOOKUPTEST000001"
SECRET = "lookup/test+secret/0001"
KEYS = ["EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName", "EventSource",
        "AccessKeyId"]

failures = []


def check(condition, what, detail=None):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        if detail is not None:
            print("     " + str(detail)[:3000], flush=True)
        failures.append(what)
    return condition


# ---- the expected side: log files read and filtered independently of trailkit ------------------

def epoch(event_time):
    return calendar.timegm(time.strptime(event_time, "%Y-%m-%dT%H:%M:%SZ"))


def last_segment(arn):
    cut = max(arn.rfind(":"), arn.rfind("/"))
    return arn[cut + 1:] if cut >= 0 and cut + 1 < len(arn) else arn


def username(record):
    # The rule of trailkit/history.hpp (history_record_from_json) and the README.
    identity = record.get("userIdentity") or {}
    if identity.get("userName"):
        return identity["userName"]
    if identity.get("type") == "AssumedRole" and identity.get("arn"):
        return identity["arn"].rsplit("/", 1)[-1]
    issuer = (identity.get("sessionContext") or {}).get("sessionIssuer") or {}
    if issuer.get("userName"):
        return issuer["userName"]
    if identity.get("invokedBy"):
        return identity["invokedBy"]
    # What CloudTrail's event history shows for a root user without an account alias.
    return "root" if identity.get("type") == "Root" else ""


def attributes(record):
    """What LookupEvents shows for a record: the Events[] member, CloudTrailEvent as parsed JSON."""
    return {
        "EventId": record["eventID"],
        "EventName": record["eventName"],
        "ReadOnly": "true" if record.get("readOnly") is True else "false",
        "AccessKeyId": (record.get("userIdentity") or {}).get("accessKeyId", ""),
        "EventTime": epoch(record["eventTime"]),
        "EventSource": record["eventSource"],
        "Username": username(record),
        "Resources": [{"ResourceType": r.get("type", ""), "ResourceName": last_segment(r.get("ARN", ""))}
                      for r in record.get("resources") or []],
        "record": record,
    }


def read_logs(destination):
    management, insights, others = [], [], 0
    for root, _, files in os.walk(destination):
        for name in files:
            path = os.path.join(root, name)
            if not name.endswith(".json.gz") or "CloudTrail-Digest" in path:
                continue
            with gzip.open(path, "rt", encoding="utf-8") as f:
                for record in json.load(f)["Records"]:
                    category = record.get("eventCategory", "Management")
                    if category == "Management":
                        management.append(attributes(record))
                    elif category == "Insight":
                        insights.append(attributes(record))
                    else:
                        others += 1  # data / network activity events: never in LookupEvents
    return management, insights, others


def matches(event, key, value):
    if key == "ResourceType":
        return any(r["ResourceType"] == value for r in event["Resources"])
    if key == "ResourceName":
        return any(r["ResourceName"] == value for r in event["Resources"])
    return event[key] == value


def same_order(got_events, expected, what):
    """Newest first; events of equal time may come in any order among themselves."""
    got_ids = [e["EventId"] for e in got_events]
    expected = sorted(expected, key=lambda e: -e["EventTime"])
    if not check(len(got_ids) == len(set(got_ids)), what + ": no event twice"):
        return False
    if not check(set(got_ids) == {e["EventId"] for e in expected}, what + f": the {len(expected)} expected events",
                 {"missing": sorted({e["EventId"] for e in expected} - set(got_ids))[:5],
                  "unexpected": sorted(set(got_ids) - {e["EventId"] for e in expected})[:5]}):
        return False
    by_id = {e["EventId"]: e for e in expected}
    got_times = [by_id[i]["EventTime"] for i in got_ids]
    return check(got_times == [e["EventTime"] for e in expected], what + ": newest first")


def members_match(got_events, expected_by_id, what):
    bad = []
    for got in got_events:
        want = expected_by_id[got["EventId"]]
        problems = []
        for key in ("EventName", "ReadOnly", "EventSource", "Resources"):
            if got.get(key) != want[key]:
                problems.append((key, got.get(key), want[key]))
        for key in ("AccessKeyId", "Username"):  # absent when empty, as CloudTrail
            if got.get(key, "") != want[key]:
                problems.append((key, got.get(key), want[key]))
        if got.get("EventTime") != want["EventTime"]:
            problems.append(("EventTime", got.get("EventTime"), want["EventTime"]))
        if json.loads(got["CloudTrailEvent"]) != want["record"]:
            problems.append(("CloudTrailEvent", got["CloudTrailEvent"][:200], None))
        if problems:
            bad.append((got["EventId"], problems))
    return check(not bad, what + ": every member as in the log file", bad[:3])


# ---- processes -------------------------------------------------------------------------------

def run(cmd, env, timeout=300):
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def must(result, what):
    if result.returncode != 0:
        raise RuntimeError(f"{what} exited {result.returncode}\nstdout: {result.stdout[-3000:]}\n"
                           f"stderr: {result.stderr[-3000:]}")
    return result


def start_serve(trailkit, state, env, extra=()):
    proc = subprocess.Popen([trailkit, "serve", "--state-dir", state, "--listen", "127.0.0.1:0", *extra],
                            env=env, stdout=subprocess.PIPE, stderr=open(os.path.join(state, "..", "serve.log"), "a"),
                            text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("listening on http://"):
        proc.kill()
        proc.wait()
        raise RuntimeError(f"trailkit serve did not start: {line!r}")
    return proc, line[len("listening on "):]


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


BOTO3_SCRIPT = r"""
import json, sys
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
endpoint, mode = sys.argv[1], sys.argv[2]
def client(**config):
    return boto3.client("cloudtrail", endpoint_url=endpoint, region_name="us-east-1", config=Config(**config))
def error(e):
    return {"code": e.response["Error"]["Code"], "status": e.response["ResponseMetadata"]["HTTPStatusCode"],
            "message": e.response["Error"]["Message"], "attempts": e.response["ResponseMetadata"].get("RetryAttempts")}
if mode == "paginate":
    key, value, page_size = sys.argv[3], sys.argv[4], int(sys.argv[5])
    pages = client().get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}], PaginationConfig={"PageSize": page_size})
    ids, sizes = [], []
    for page in pages:
        sizes.append(len(page["Events"]))
        ids += [e["EventId"] for e in page["Events"]]
    print(json.dumps({"ids": ids, "sizes": sizes}))
elif mode == "call":  # one call, no retries: the error as the SDK sees it
    try:
        client(retries={"max_attempts": 1, "mode": "standard"}).lookup_events(**json.loads(sys.argv[3]))
        print(json.dumps({"code": None}))
    except ClientError as e:
        print(json.dumps(error(e)))
elif mode == "burst":  # n calls back to back, without and then with botocore's retries
    n = int(sys.argv[3])
    once, retried = client(retries={"max_attempts": 1, "mode": "standard"}), client(retries={"max_attempts": 10, "mode": "standard"})
    codes = []
    for _ in range(n):
        try:
            once.lookup_events(MaxResults=1)
            codes.append(None)
        except ClientError as e:
            codes.append(error(e))
    ok = 0
    for _ in range(n):
        retried.lookup_events(MaxResults=1)
        ok += 1
    print(json.dumps({"codes": codes, "retried_ok": ok}))
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--trailkit", required=True)
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()
    trailkit = os.path.abspath(args.trailkit)
    work = tempfile.mkdtemp(prefix="trailkit-lookup-")
    destination, state = os.path.join(work, "logs"), os.path.join(work, "state")
    servers = []
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and not k.startswith("TRAILKIT_API_")}
    env.update({"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": REGION,
                "AWS_CONFIG_FILE": os.path.join(work, "no-config"),
                "AWS_SHARED_CREDENTIALS_FILE": os.path.join(work, "no-credentials"),
                "AWS_EC2_METADATA_DISABLED": "true",
                "TRAILKIT_API_ACCESS_KEY_ID": KEY_ID, "TRAILKIT_API_SECRET_ACCESS_KEY": SECRET})
    try:
        # ---- record ----------------------------------------------------------------------------
        must(run([trailkit, "demo", "--destination", destination, "--state-dir", state, "--duration", "3",
                  "--rate", "300", "--account-id", ACCOUNT, "--trail-name", TRAIL], env), "trailkit demo")
        management, insights, others = read_logs(destination)
        print(f"recorded: {len(management)} management events, {len(insights)} Insights events, "
              f"{others} data/network events", flush=True)
        if not check(len(management) >= 300, "the demo recorded management events"):
            return 1
        by_id = {e["EventId"]: e for e in management + insights}

        server, endpoint = start_serve(trailkit, state, env)
        servers.append(server)
        script = os.path.join(work, "client.py")
        with open(script, "w") as f:
            f.write(BOTO3_SCRIPT)

        def aws(*arguments, secret=SECRET, extra_env=None):
            call_env = dict(env, AWS_SECRET_ACCESS_KEY=secret, AWS_MAX_ATTEMPTS="1", AWS_RETRY_MODE="standard")
            call_env.update(extra_env or {})
            return run(["aws", "cloudtrail", *arguments, "--endpoint-url", endpoint, "--region", REGION,
                        "--output", "json"], call_env)

        def lookup_cli(*arguments):
            result = aws("lookup-events", *arguments)
            if not check(result.returncode == 0, "aws cloudtrail lookup-events " + " ".join(arguments) + " exits 0",
                         result.stderr):
                return None
            return json.loads(result.stdout)

        def boto3(*arguments):
            result = run([sys.executable, script, endpoint, *arguments], env)
            if result.returncode != 0:
                raise RuntimeError("boto3 client failed: " + result.stderr[-3000:])
            return json.loads(result.stdout)

        # ---- each of the eight attributes, with values from the recorded events -----------------
        newest = max(management, key=lambda e: e["EventTime"])
        picks = {}
        for key in KEYS:
            values = {}
            for event in management:
                if key in ("ResourceType", "ResourceName"):
                    for r in event["Resources"]:
                        values[r[key]] = values.get(r[key], 0) + 1
                elif event[key] != "":
                    values[event[key]] = values.get(event[key], 0) + 1
            if not check(values, f"{key}: the recorded events have values to look up"):
                continue
            # The most frequent value: several pages through the CLI's own pagination.
            picks[key] = newest["EventId"] if key == "EventId" else max(values, key=values.get)
        for key, value in picks.items():
            got = lookup_cli("--lookup-attributes", f"AttributeKey={key},AttributeValue={value}")
            if got is None:
                continue
            expected = [e for e in management if matches(e, key, value)]
            what = f"lookup-events {key}={value}"
            if same_order(got["Events"], expected, what):
                members_match(got["Events"], by_id, what)
            check("NextToken" not in got, what + ": all pages merged, no NextToken left")

        # ---- a time window (ISO 8601 bounds, both inclusive) -----------------------------------
        times = sorted({e["EventTime"] for e in management})
        start, end = times[len(times) // 3], times[len(times) // 3 + 1]
        iso = lambda t: datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        got = lookup_cli("--start-time", iso(start), "--end-time", iso(end))
        if got is not None:
            expected = [e for e in management if start <= e["EventTime"] <= end]
            if same_order(got["Events"], expected, f"time window {iso(start)}..{iso(end)}"):
                members_match(got["Events"], by_id, "time window")

        # ---- Insights events only with --event-category insight --------------------------------
        got = lookup_cli("--event-category", "insight")
        if got is not None:
            same_order(got["Events"], insights, "--event-category insight (the recorded Insights events)")

        # ---- the CLI following NextToken: --page-size 7 --max-items 40, then --starting-token ---
        listing, token, pages = [], None, 0
        while True:
            arguments = ["--page-size", "7", "--max-items", "40"] + (["--starting-token", token] if token else [])
            got = lookup_cli(*arguments)
            if got is None:
                break
            pages += 1
            listing += got["Events"]
            token = got.get("NextToken")
            if not token:
                break
            check(len(got["Events"]) == 40, f"paginated listing, call {pages}: 40 events (--max-items)")
        if same_order(listing, management, f"paginated listing (--page-size 7 --max-items 40, {pages} CLI calls)"):
            members_match(listing, by_id, "paginated listing")

        # ---- boto3's paginator gets what the CLI gets ------------------------------------------
        key, value = "EventSource", picks.get("EventSource")
        cli = lookup_cli("--lookup-attributes", f"AttributeKey={key},AttributeValue={value}")
        sdk = boto3("paginate", key, value, "9")
        if cli is not None:
            check(sdk["ids"] == [e["EventId"] for e in cli["Events"]],
                  f"boto3 lookup_events paginator (PageSize 9, {len(sdk['sizes'])} pages) = the CLI's events, same order")
            check(len(sdk["sizes"]) > 1 and all(s == 9 for s in sdk["sizes"][:-1]), "boto3 really paged", sdk["sizes"])

        # ---- errors with the AWS codes ---------------------------------------------------------
        two = aws("lookup-events", "--lookup-attributes", "AttributeKey=EventName,AttributeValue=x",
                  "AttributeKey=Username,AttributeValue=y")
        check(two.returncode == 255 and "An error occurred (InvalidLookupAttributesException) when calling the "
              "LookupEvents operation" in two.stderr, "two attributes -> InvalidLookupAttributesException", two.stderr)
        many = aws("lookup-events", "--max-results", "51")
        check(many.returncode == 255 and "(InvalidMaxResultsException)" in many.stderr,
              "--max-results 51 -> InvalidMaxResultsException", many.stderr)
        wrong = aws("lookup-events", "--max-results", "1", secret="not-the-secret")
        check(wrong.returncode == 255 and "(InvalidSignatureException)" in wrong.stderr,
              "a wrong secret -> InvalidSignatureException (CLI)", wrong.stderr)
        status = run([sys.executable, script, endpoint, "call", "{}"], dict(env, AWS_SECRET_ACCESS_KEY="not-the-secret"))
        denied = json.loads(status.stdout) if status.returncode == 0 else {}
        check(denied.get("code") == "InvalidSignatureException" and denied.get("status") == 403,
              "a wrong secret -> HTTP 403 InvalidSignatureException (boto3)", denied or status.stderr)
        category = boto3("call", json.dumps({"EventCategory": "Insight"}))
        check(category.get("code") == "InvalidEventCategoryException" and category.get("status") == 400,
              "EventCategory Insight (not insight) -> InvalidEventCategoryException, HTTP 400", category)
        first = lookup_cli("--max-results", "3", "--lookup-attributes", f"AttributeKey=EventSource,AttributeValue={value}")
        if first is not None and check("NextToken" in first, "--max-results 3: one page with a NextToken"):
            replay = boto3("call", json.dumps({"NextToken": first["NextToken"], "MaxResults": 3}))
            check(replay.get("code") == "InvalidNextTokenException",
                  "NextToken replayed with other parameters -> InvalidNextTokenException", replay)

        # ---- trailkit lookup prints what the aws CLI prints ------------------------------------
        for arguments in (["--lookup-attributes", f"AttributeKey=EventSource,AttributeValue={value}"],
                          ["--max-results", "5", "--lookup-attributes", f"AttributeKey=ReadOnly,AttributeValue=true"],
                          ["--start-time", iso(start), "--end-time", str(end)],
                          ["--lookup-attributes", json.dumps([{"AttributeKey": "EventName",
                                                               "AttributeValue": picks.get("EventName", "x")}])]):
            cli = aws("lookup-events", *arguments)
            own = run([trailkit, "lookup", "--state-dir", state, *arguments], env)
            check(own.returncode == 0 and cli.returncode == 0 and own.stdout == cli.stdout,
                  "trailkit lookup " + " ".join(arguments) + ": the aws CLI's output, byte for byte",
                  {"trailkit": own.stdout[:400] + own.stderr[-400:], "aws": cli.stdout[:400] + cli.stderr[-400:]})
        cli = aws("lookup-events", "--lookup-attributes", "AttributeKey=EventName,AttributeValue=x",
                  "AttributeKey=Username,AttributeValue=y")
        own = run([trailkit, "lookup", "--state-dir", state, "--lookup-attributes",
                   "AttributeKey=EventName,AttributeValue=x", "AttributeKey=Username,AttributeValue=y"], env)
        first_line = lambda text: text.strip().splitlines()[0] if text.strip() else ""
        check(own.returncode == cli.returncode == 255 and
              first_line(own.stderr).startswith("An error occurred (InvalidLookupAttributesException)"),
              "trailkit lookup: the CLI's error line and exit code 255", {"trailkit": own.stderr, "aws": cli.stderr})

        # ---- --max-items / --starting-token: the CLI's pagination tokens, made by trailkit lookup ---
        def own_lookup(*arguments):
            return run([trailkit, "lookup", "--state-dir", state, *arguments], env)

        def same_output(arguments, what):
            """Both exit 0 and print the same JSON; returns it (None when they differ)."""
            cli, own = aws("lookup-events", *arguments), own_lookup(*arguments)
            ok = check(cli.returncode == 0 and own.returncode == 0 and cli.stdout == own.stdout and
                       json.loads(own.stdout) == json.loads(cli.stdout),
                       f"trailkit lookup {' '.join(arguments)}: {what}, byte for byte as the aws CLI",
                       {"trailkit": own.stdout[-400:] + own.stderr[-400:], "aws": cli.stdout[-400:] + cli.stderr[-400:]})
            return json.loads(own.stdout) if ok else None

        def resume_token(token):
            return json.loads(base64.b64decode(token))

        everything = [e["EventId"] for e in (lookup_cli() or {"Events": []})["Events"]]
        # 7 events from pages of 3: the third page is cut after 1 event (boto_truncate_amount 1).
        first = same_output(["--max-items", "7", "--page-size", "3"], "7 events and a resume token")
        if first is not None and check("NextToken" in first, "--max-items 7: the listing is cut, NextToken printed"):
            check([e["EventId"] for e in first["Events"]] == everything[:7], "--max-items 7: the first 7 events")
            decoded = resume_token(first["NextToken"])
            check(list(decoded) == ["NextToken", "boto_truncate_amount"] and decoded["boto_truncate_amount"] == 1 and
                  isinstance(decoded["NextToken"], str),
                  "the token is botocore's: base64 of {NextToken: <service token>, boto_truncate_amount: 1}", decoded)
            # The service token inside is the one `trailkit serve` issued after page 2 (same history, same key).
            pages = [lookup_cli("--max-results", "3")]
            if pages[0] is not None and "NextToken" in pages[0]:
                pages.append(lookup_cli("--max-results", "3", "--next-token", pages[0]["NextToken"]))
                own_page = own_lookup("--max-results", "3", "--next-token", pages[0]["NextToken"])
                check(pages[1] is not None and own_page.returncode == 0 and
                      pages[1].get("NextToken") == json.loads(own_page.stdout).get("NextToken") == decoded["NextToken"],
                      "trailkit lookup and trailkit serve issue the same service NextToken for the same history",
                      {"serve": (pages[1] or {}).get("NextToken"), "lookup": own_page.stdout[-200:],
                       "in the resume token": decoded["NextToken"]})
            for extra in ([], ["--page-size", "3"]):
                second = same_output(["--starting-token", first["NextToken"], "--max-items", "7", *extra],
                                     "the next 7 events from the resume token")
                if second is not None:
                    check([e["EventId"] for e in second["Events"]] == everything[7:14],
                          "--starting-token <that token> --max-items 7" + (" --page-size 3" if extra else "") +
                          ": resumes after event 7, skipping the printed one")
        # A cut on a page boundary: the token holds the service NextToken alone.
        boundary = same_output(["--max-items", "6", "--page-size", "3"], "a cut on a page boundary")
        if boundary is not None and check("NextToken" in boundary, "--max-items 6 --page-size 3: NextToken printed"):
            check(list(resume_token(boundary["NextToken"])) == ["NextToken"],
                  "page-boundary token: {NextToken} without boto_truncate_amount", resume_token(boundary["NextToken"]))
        # The end of the listing within --max-items: no NextToken.
        whole = same_output(["--max-items", str(len(everything) + 5), "--page-size", "50"], "the whole listing")
        if whole is not None:
            check("NextToken" not in whole and len(whole["Events"]) == len(everything),
                  "--max-items beyond the end: every event, no NextToken")

        # awscli's errors: --max-items with --max-results, and starting tokens it cannot use.
        for arguments in (["--max-results", "2", "--max-items", "3"],
                          ["--next-token", "x", "--starting-token", "y", "--page-size", "4", "--max-items", "3"]):
            cli, own = aws("lookup-events", *arguments), own_lookup(*arguments)
            check(cli.returncode == own.returncode == 255 and own.stderr == cli.stderr and
                  "Error during pagination: Cannot specify --no-paginate along with pagination arguments: " in own.stderr,
                  f"trailkit lookup {' '.join(arguments)}: awscli's pagination error and exit 255",
                  {"trailkit": own.stderr, "aws": cli.stderr})
        strip_retries = lambda line: line.replace(" (reached max retries: 0)", "")
        for token, expected in (("garbage", "An error occurred (InvalidNextTokenException) when calling the LookupEvents"),
                                ("a___b___c", "Bad starting token: a___b___c")):
            cli = aws("lookup-events", "--starting-token", token, "--max-items", "2")
            own = own_lookup("--starting-token", token, "--max-items", "2")
            check(cli.returncode == own.returncode == 255 and
                  strip_retries(first_line(cli.stderr)) == first_line(own.stderr) and
                  first_line(own.stderr).startswith(expected) and "--starting-token" in own.stderr,
                  f"--starting-token {token}: the CLI's error line, exit 255, and a line naming the flag",
                  {"trailkit": own.stderr, "aws": cli.stderr})
        wrong_shape = base64.b64encode(b'{"Marker": "x"}').decode()
        own = own_lookup("--starting-token", wrong_shape)
        check(own.returncode == 255 and first_line(own.stderr).startswith("Bad starting token") and
              "--starting-token" in own.stderr, "--starting-token of JSON without NextToken: refused, exit 255",
              own.stderr)

        # ---- the trail operations --------------------------------------------------------------
        arn = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{TRAIL}"
        trails = aws("list-trails")
        check(trails.returncode == 0 and json.loads(trails.stdout) ==
              {"Trails": [{"TrailARN": arn, "Name": TRAIL, "HomeRegion": REGION}]}, "list-trails: the served trail",
              trails.stdout + trails.stderr)
        selectors = aws("get-event-selectors", "--trail-name", TRAIL)
        check(selectors.returncode == 0 and json.loads(selectors.stdout) ==
              {"TrailARN": arn, "EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True,
                                                    "DataResources": [], "ExcludeManagementEventSources": []}]},
              "get-event-selectors: the default selector (all management events)", selectors.stdout + selectors.stderr)
        unknown = aws("get-event-selectors", "--trail-name", "no-such-trail")
        check(unknown.returncode == 255 and "(TrailNotFoundException)" in unknown.stderr,
              "get-event-selectors of another trail -> TrailNotFoundException", unknown.stderr)
        insight = aws("get-insight-selectors", "--trail-name", arn)
        check(insight.returncode == 255 and "(InsightNotEnabledException)" in insight.stderr,
              "get-insight-selectors -> InsightNotEnabledException (no Insights selectors)", insight.stderr)

        # ---- --lookup-rate-limit 1: ThrottlingException, retried by botocore -------------------
        limited, limited_endpoint = start_serve(trailkit, state, env, ["--lookup-rate-limit", "1"])
        servers.append(limited)
        burst = json.loads(must(run([sys.executable, script, limited_endpoint, "burst", "4"], env), "burst").stdout)
        throttled = [c for c in burst["codes"] if c]
        check(burst["codes"][0] is None and throttled and
              all(c["code"] == "ThrottlingException" and c["status"] == 400 for c in throttled),
              f"--lookup-rate-limit 1: {len(throttled)} of 4 back-to-back calls -> ThrottlingException (HTTP 400)",
              burst)
        check(burst["retried_ok"] == 4, "with botocore's retries every call succeeds", burst)
        for proc in servers:
            check(stop(proc) == 0, "trailkit serve stops on SIGTERM with exit 0")
        servers.clear()
    finally:
        for proc in servers:
            stop(proc)
        if args.keep:
            print("kept", work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{len(failures)} failure(s)" if failures else "all checks passed", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
