#!/usr/bin/env python3
"""Helpers for tests/adapters/api/validate_s3_test.cpp (stock boto3 and http.server only).

  validate_helper.py setup ENDPOINT BUCKET              create the bucket. moto's SigV4 check is left OFF: moto
                                                         (5.x) rejects any correctly signed ListObjects whose
                                                         Prefix or Marker contains "/" (SignatureDoesNotMatch,
                                                         for botocore too), and validate-logs always sends one.
  validate_helper.py upload ENDPOINT AK SK BUCKET DIR   upload every object under DIR (a DigestFixture
                                                         bucket dir) with its .trailkit-metadata sidecar
                                                         as S3 user metadata (x-amz-meta-signature, ...)
  validate_helper.py delete ENDPOINT AK SK BUCKET KEY   delete one object
  validate_helper.py stub PORT KEYS_JSON                 a CloudTrail JSON 1.1 stub: ListPublicKeys answers
                                                         KEYS_JSON's content, anything else 400. It is only the
                                                         stock validate-logs' key source: no SigV4 check.
"""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

META = ".trailkit-metadata"


def s3(endpoint, key, secret):
    import boto3
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret)


def upload(endpoint, key, secret, bucket, root):
    client = s3(endpoint, key, secret)
    for folder, dirs, files in os.walk(root):
        if os.path.relpath(folder, root).split(os.sep)[0] == META:
            continue
        for name in files:
            path = os.path.join(folder, name)
            object_key = os.path.relpath(path, root).replace(os.sep, "/")
            sidecar = os.path.join(root, META, object_key + ".json")
            metadata = json.load(open(sidecar)) if os.path.exists(sidecar) else {}
            with open(path, "rb") as body:
                client.put_object(Bucket=bucket, Key=object_key, Body=body.read(), Metadata=metadata)


def stub(port, keys_path):
    keys = open(keys_path, "rb").read()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.headers.get("X-Amz-Target", "").endswith(".ListPublicKeys"):
                status, body = 200, keys
            else:
                status, body = 400, b'{"__type":"UnknownOperationException","message":"stub"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    HTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "setup":
        s3(args[0], "test", "test").create_bucket(Bucket=args[1])
    elif command == "upload":
        upload(*args)
    elif command == "delete":
        s3(*args[:3]).delete_object(Bucket=args[3], Key=args[4])
    elif command == "stub":
        stub(*args)
    else:
        sys.exit(__doc__)
