#!/usr/bin/env python3
"""Drives a moto_server for trailkit's S3 tests with the stock boto3 client.

  moto_helper.py setup ENDPOINT BUCKET...        create an IAM user with an S3 policy, its access key and
                                                 the buckets, then switch moto's SigV4 checks on; prints
                                                 {"AccessKeyId":..., "SecretAccessKey":...}
  moto_helper.py list ENDPOINT AK SK BUCKET      prints [{"key", "size", "records", "event_ids"}] for every
                                                 object, each downloaded and decompressed (gzip or zstd)
Signature checking follows the recipe in reliability-security-ecosystem.md §3.6 (recipe B).
"""
import gzip
import json
import subprocess
import sys
import urllib.request

import boto3


def client(service, endpoint, key="test", secret="test"):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret)


def setup(endpoint, buckets):
    iam = client("iam", endpoint)
    iam.create_user(UserName="trailkit")
    key = iam.create_access_key(UserName="trailkit")["AccessKey"]
    iam.put_user_policy(UserName="trailkit", PolicyName="s3all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    s3 = client("s3", endpoint)
    for bucket in buckets:
        s3.create_bucket(Bucket=bucket)
    request = urllib.request.Request(endpoint + "/moto-api/reset-auth", data=b"0", method="POST",
                                     headers={"Content-Type": "text/plain"})
    urllib.request.urlopen(request).read()
    print(json.dumps({"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}))


def decompress(body):
    if body[:2] == b"\x1f\x8b":
        return gzip.decompress(body)
    if body[:4] == b"\x28\xb5\x2f\xfd":
        return subprocess.run(["zstd", "-dc"], input=body, capture_output=True, check=True).stdout
    raise ValueError("unknown encoding")


def list_objects(endpoint, key, secret, bucket):
    s3 = client("s3", endpoint, key, secret)
    out = []
    for page in s3.get_paginator("list_objects").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            obj = s3.get_object(Bucket=bucket, Key=item["Key"])
            doc = json.loads(decompress(obj["Body"].read()))
            out.append({"key": item["Key"], "size": item["Size"], "records": len(doc["Records"]),
                        "content_type": obj.get("ContentType", ""),
                        "event_ids": [r["eventID"] for r in doc["Records"]]})
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup(sys.argv[2], sys.argv[3:])
    elif sys.argv[1] == "list":
        list_objects(*sys.argv[2:6])
    else:
        sys.exit("usage: moto_helper.py setup|list ...")
