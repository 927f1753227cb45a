#!/usr/bin/env python3
"""End-to-end proof of issue #4 with tools nobody here wrote.

The demo records into moto (real S3 server, SigV4 checks on) over several digest intervals, with a
restart and a key rotation; `trailkit serve` is the CloudTrail endpoint (ListPublicKeys,
DescribeTrails). Then the *stock* `aws cloudtrail validate-logs` (AWS_ENDPOINT_URL_S3 -> moto,
--endpoint-url -> trailkit serve) must find every digest and log file valid, exit 0. Then it tampers,
one case at a time, restoring the bucket in between:
  one log byte changed     -> stock: "INVALID: hash value doesn't match", exit 1
  one log deleted          -> stock: "Log file ... INVALID: not found", exit 1
  a middle digest deleted  -> stock: "Digest file ... INVALID: not found", exit 1
  a signature byte changed -> stock: "INVALID: signature verification failed", exit 1
  the newest digest deleted-> stock: exit 0 (it cannot see tail truncation); trailkit validate: exit 1
and `trailkit validate` with the same arguments agrees on every verdict line and exit code. Finally a
chain copied out of the bucket into a local directory (metadata in sidecars) validates with
`trailkit validate --dir`, and so does a chain the demo writes to a local directory directly.

usage: validate_logs_test.py --trailkit PATH
Starts moto_server and trailkit serve itself and stops both by PID.
"""
import argparse
import gzip
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3

ACCOUNT = "111122223333"
REGION = "us-east-1"
TRAIL = "trailkit-demo"
BUCKET = "audit-trail-bucket"
PREFIX = "org/audit"
ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{TRAIL}"
HERE = os.path.dirname(os.path.abspath(__file__))

failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited at start")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start")


def run(cmd, env, check_rc=None, timeout=300):
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if check_rc is not None and result.returncode != check_rc:
        print("command:", " ".join(cmd), "\nrc:", result.returncode, "\nstdout:", result.stdout[-3000:],
              "\nstderr:", result.stderr[-3000:], flush=True)
        raise RuntimeError(f"{cmd[0]} {cmd[1]} exited {result.returncode}")
    return result


def verdict_lines(result):
    """The per-file lines (both streams), normalised: 'Digest file\\ts3://...\\tvalid' etc."""
    lines = []
    for line in (result.stdout + "\n" + result.stderr).splitlines():
        if line.startswith(("Digest file\t", "Log file\t")):
            lines.append(line.strip())
    return sorted(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--trailkit", required=True)
    args = parser.parse_args()
    trailkit = os.path.abspath(args.trailkit)
    work = tempfile.mkdtemp(prefix="trailkit-validate-")
    procs = []
    try:
        # ---- moto with SigV4 checks on (recipe B) --------------------------------------------
        moto_port = free_port()
        moto = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(moto_port)],
                                stdout=open(os.path.join(work, "moto.log"), "w"), stderr=subprocess.STDOUT)
        procs.append(moto)
        wait_port(moto_port, moto, "moto_server")
        moto_url = f"http://127.0.0.1:{moto_port}"
        setup = run([sys.executable, os.path.join(HERE, "..", "adapters", "s3", "support", "moto_helper.py"),
                     "setup", moto_url, BUCKET], dict(os.environ), check_rc=0)
        key = json.loads(setup.stdout)
        env = dict(os.environ)
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
            env.pop(name, None)
        env.update({"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
                    "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, "AWS_ENDPOINT_URL_S3": moto_url,
                    "AWS_CONFIG_FILE": os.path.join(work, "no-config"),
                    "AWS_SHARED_CREDENTIALS_FILE": os.path.join(work, "no-credentials"),
                    # trailkit serve accepts requests signed with these (the same IAM key, so one
                    # credential set serves the stock CLI's S3 and CloudTrail clients).
                    "TRAILKIT_API_ACCESS_KEY_ID": key["AccessKeyId"],
                    "TRAILKIT_API_SECRET_ACCESS_KEY": key["SecretAccessKey"]})
        s3 = boto3.client("s3", endpoint_url=moto_url, region_name=REGION,
                          aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
        wrong = boto3.client("s3", endpoint_url=moto_url, region_name=REGION,
                             aws_access_key_id=key["AccessKeyId"], aws_secret_access_key="wrong-secret")
        try:
            wrong.list_objects(Bucket=BUCKET)
            check(False, "moto refuses a wrong secret (SigV4 checks are on)")
        except Exception as e:  # noqa: BLE001 - any refusal is what we want
            check("SignatureDoesNotMatch" in str(e), "moto refuses a wrong secret (SigV4 checks are on)")

        # ---- record: three runs, >= 3 digest intervals, a restart and a key rotation ----------
        state = os.path.join(work, "state")
        start = time.time() - 60
        demo = [trailkit, "demo", "--destination", f"s3://{BUCKET}/{PREFIX}", "--endpoint-url", moto_url,
                "--state-dir", state, "--digest-interval", "3", "--roll-interval", "1", "--rate", "400",
                "--threads", "2", "--trail-name", TRAIL, "--account-id", ACCOUNT, "--region", REGION]
        run(demo + ["--duration", "7"], env, check_rc=0)             # run 1: key generated in the state dir
        run(demo + ["--duration", "4"], env, check_rc=0)             # run 2: restart, chain continues
        rotated = os.path.join(work, "rotated.pem")
        run([trailkit, "keygen", "--out", rotated], env, check_rc=0)
        run(demo + ["--duration", "4", "--key", rotated], env, check_rc=0)  # run 3: key rotation
        time.sleep(1)

        keys = [o["Key"] for page in s3.get_paginator("list_objects").paginate(Bucket=BUCKET)
                for o in page.get("Contents", [])]
        digests = sorted(k for k in keys if "/CloudTrail-Digest/" in k)
        logs = sorted(k for k in keys if "/CloudTrail/" in k)
        check(len(digests) >= 6, f"digests delivered over three runs ({len(digests)})")
        check(len(logs) >= 10, f"log files delivered ({len(logs)})")
        check(all(k.startswith(PREFIX + "/AWSLogs/") for k in keys), "every key is under the S3 key prefix")
        fingerprints = {json.loads(gzip.decompress(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read()))
                        ["digestPublicKeyFingerprint"] for k in digests}
        check(len(fingerprints) == 2, "digests are signed by the first key and, after the rotation, the second")
        meta = s3.head_object(Bucket=BUCKET, Key=digests[0])["Metadata"]
        check(meta.get("signature-algorithm") == "SHA256withRSA" and len(meta.get("signature", "")) == 512,
              "digest metadata: signature (512 hex) and signature-algorithm SHA256withRSA")

        # moto 5.2 with SigV4 checks on rejects *valid* signatures of ListObjects with a Prefix like
        # "org/audit/AWSLogs/1111..." (reliability-security-ecosystem.md §3.6 observed the same for
        # Prefix="AWSLogs/1/"): botocore's own requests fail with SignatureDoesNotMatch. Both
        # validators list that way, so the checks are switched off for the validation phase; the
        # recording above ran with them on. trailkit serve checks its own SigV4 throughout.
        request = urllib.request.Request(moto_url + "/moto-api/reset-auth", data=b"inf", method="POST",
                                         headers={"Content-Type": "text/plain"})
        urllib.request.urlopen(request).read()

        # ---- the CloudTrail endpoint --------------------------------------------------------
        serve_port = free_port()
        serve = subprocess.Popen([trailkit, "serve", "--state-dir", state, "--listen", f"127.0.0.1:{serve_port}"],
                                 env=env, stdout=open(os.path.join(work, "serve.log"), "w"), stderr=subprocess.STDOUT)
        procs.append(serve)
        wait_port(serve_port, serve, "trailkit serve")
        serve_url = f"http://127.0.0.1:{serve_port}"

        start_text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start))
        stock = ["aws", "cloudtrail", "validate-logs", "--trail-arn", ARN, "--start-time", start_text,
                 "--endpoint-url", serve_url, "--verbose"]
        ours = [trailkit, "validate", "--trail-arn", ARN, "--start-time", start_text, "--endpoint-url", serve_url,
                "--verbose"]

        def validate_both(label, expect_stock_rc, expect_ours_rc, expect_line=None):
            s = run(stock, env)
            o = run(ours, env)
            check(s.returncode == expect_stock_rc, f"{label}: stock validate-logs exits {expect_stock_rc} "
                                                   f"(got {s.returncode})")
            check(o.returncode == expect_ours_rc, f"{label}: trailkit validate exits {expect_ours_rc} "
                                                  f"(got {o.returncode})")
            if expect_line:
                check(any(expect_line in line for line in verdict_lines(s)), f"{label}: stock says '{expect_line}'")
                check(any(expect_line in line for line in verdict_lines(o)), f"{label}: trailkit says '{expect_line}'")
            check(verdict_lines(s) == verdict_lines(o), f"{label}: both print the same per-file verdicts")
            if failures and failures[-1].startswith(label):
                print("--- stock stdout/stderr:\n" + s.stdout[-4000:] + s.stderr[-4000:])
                print("--- trailkit stdout/stderr:\n" + o.stdout[-4000:] + o.stderr[-4000:], flush=True)
            return s, o

        s, o = validate_both("untouched", 0, 0)
        check(f"{len(digests)}/{len(digests)} digest files valid" in s.stdout,
              f"stock: {len(digests)}/{len(digests)} digest files valid")
        check(f"{len(logs)}/{len(logs)} log files valid" in s.stdout, f"stock: {len(logs)}/{len(logs)} log files valid")
        check(s.stdout.count("valid") >= 2 and "INVALID" not in s.stdout + s.stderr, "stock: nothing INVALID")

        def saved(key_name):
            obj = s3.get_object(Bucket=BUCKET, Key=key_name)
            return obj["Body"].read(), obj["Metadata"]

        def restore(key_name, body_meta):
            body, metadata = body_meta
            s3.put_object(Bucket=BUCKET, Key=key_name, Body=body, Metadata=metadata)

        # One log byte changed (a valid gzip of a changed document: only the hash can catch it).
        victim = logs[len(logs) // 2]
        original = saved(victim)
        text = bytearray(gzip.decompress(original[0]))
        at = text.index(b'"eventName":"') + len(b'"eventName":"')
        text[at] = ord("X") if text[at] != ord("X") else ord("Y")
        s3.put_object(Bucket=BUCKET, Key=victim, Body=gzip.compress(bytes(text)))
        validate_both("log byte changed", 1, 1, f"{victim}\tINVALID: hash value doesn't match")
        restore(victim, original)

        s3.delete_object(Bucket=BUCKET, Key=victim)
        validate_both("log deleted", 1, 1, f"Log file\ts3://{BUCKET}/{victim}\tINVALID: not found")
        restore(victim, original)

        middle = digests[len(digests) // 2]
        original = saved(middle)
        s3.delete_object(Bucket=BUCKET, Key=middle)
        validate_both("middle digest deleted", 1, 1, f"Digest file\ts3://{BUCKET}/{middle}\tINVALID: not found")
        restore(middle, original)

        signed = digests[1]
        original = saved(signed)
        metadata = dict(original[1])
        sig = metadata["signature"]
        metadata["signature"] = ("0" if sig[10] != "0" else "1").join([sig[:10], sig[11:]])
        s3.put_object(Bucket=BUCKET, Key=signed, Body=original[0], Metadata=metadata)
        validate_both("signature byte changed", 1, 1, "INVALID: signature verification failed")
        restore(signed, original)

        newest = digests[-1]
        original = saved(newest)
        s3.delete_object(Bucket=BUCKET, Key=newest)
        s, o = validate_both("newest digest deleted", 0, 1)
        check("tail truncation" in (o.stdout + o.stderr), "trailkit validate names the tail truncation")
        restore(newest, original)

        validate_both("restored", 0, 0)

        # The same chain, copied out of the bucket into a local directory (metadata into the
        # documented sidecars), validates with `trailkit validate --dir`.
        copy = os.path.join(work, BUCKET)
        for key_name in keys:
            obj = s3.get_object(Bucket=BUCKET, Key=key_name)
            path = os.path.join(copy, key_name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "wb").write(obj["Body"].read())
            if obj["Metadata"]:
                side = os.path.join(copy, ".trailkit-metadata", key_name + ".json")
                os.makedirs(os.path.dirname(side), exist_ok=True)
                json.dump(obj["Metadata"], open(side, "w"))
        r = run([trailkit, "validate", "--trail-arn", ARN, "--start-time", start_text, "--dir", copy,
                 "--state-dir", state, "--verbose"], env)
        check(r.returncode == 0 and f"{len(digests)}/{len(digests)} digest files valid" in r.stdout
              and f"{len(logs)}/{len(logs)} log files valid" in r.stdout and "INVALID" not in r.stdout + r.stderr,
              "the same chain copied to a local directory: trailkit validate --dir finds it all valid, exit 0")
        if failures and failures[-1].startswith("the same chain"):
            print(r.stdout[-3000:] + r.stderr[-3000:])

        # ---- the same kind of chain in a local directory --------------------------------------
        local_state = os.path.join(work, "local-state")
        local_root = os.path.join(work, "local-bucket")
        run([trailkit, "demo", "--destination", local_root, "--state-dir", local_state, "--digest-interval", "2",
             "--roll-interval", "1", "--rate", "300", "--duration", "5", "--trail-name", TRAIL,
             "--account-id", ACCOUNT, "--region", REGION], env, check_rc=0)
        local = [trailkit, "validate", "--trail-arn", ARN, "--start-time", start_text, "--dir", local_root,
                 "--state-dir", local_state, "--verbose"]
        r = run(local, env)
        check(r.returncode == 0 and "INVALID" not in r.stdout + r.stderr, "trailkit validate --dir: chain valid, exit 0")
        local_logs = []
        for dirpath, _, names in os.walk(os.path.join(local_root, "AWSLogs")):
            local_logs += [os.path.join(dirpath, n) for n in names if "/CloudTrail/" in dirpath + "/"]
        target = sorted(local_logs)[0]
        data = bytearray(open(target, "rb").read())
        doc = bytearray(gzip.decompress(bytes(data)))
        doc[-5] = ord(" ") if doc[-5] != ord(" ") else ord("\t")
        open(target, "wb").write(gzip.compress(bytes(doc)))
        r = run(local, env)
        check(r.returncode == 1 and "hash value doesn't match" in r.stdout + r.stderr,
              "trailkit validate --dir: a changed local log file is caught, exit 1")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        if failures:
            print(f"work dir kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"{len(failures)} check(s) failed:\n  " + "\n  ".join(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
