#!/usr/bin/env python3
"""Generate synthetic-but-realistic CloudTrail records as {"Records":[...]} JSON.
Usage: gen_cloudtrail.py OUT_PATH TARGET_BYTES [SEED]
Entropy model: small populations of accounts/roles/users/agents/regions (as in a real
org), high-entropy per-event fields (eventID UUIDv4, requestID, x-amz-id-2, session
names, object keys), monotonically increasing eventTime, mixture of ~45 event types with
event-specific nested requestParameters."""
import json, random, sys, uuid, string, datetime, base64

out, target = sys.argv[1], int(sys.argv[2])
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 42
R = random.Random(seed)

def rid(n, alphabet=string.ascii_uppercase + string.digits):
    return ''.join(R.choice(alphabet) for _ in range(n))
def uid():
    return str(uuid.UUID(int=R.getrandbits(128), version=4))
def hexs(n):
    return ''.join(R.choice('0123456789abcdef') for _ in range(n))

ACCOUNTS = [''.join(R.choice(string.digits) for _ in range(12)) for _ in range(8)]
REGIONS = ['us-east-1'] * 6 + ['us-west-2'] * 3 + ['eu-west-1'] * 2 + ['ap-southeast-2', 'eu-central-1']
ROLES = ['AppServerRole', 'DataPipelineRole', 'LambdaExecutionRole', 'EKSNodeRole', 'CIDeployRole',
         'ReadOnlyAuditRole', 'AdminRole', 'BillingReporter', 'BackupServiceRole', 'IngestWorker',
         'OrgAccessRole', 'AWSServiceRoleForECS', 'SSO_PowerUser_4f1a', 'SSO_ReadOnly_9c2b', 'TerraformRole']
USERS = ['alice', 'bob', 'carol.ng', 'deploy-bot', 'svc-metrics', 'j.smith', 'm.garcia', 'ops-oncall']
AGENTS = [
    'aws-sdk-java/2.20.162 Linux/5.10.198-187.748.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.8+7-LTS Java/17.0.8 vendor/Amazon.com_Inc. md/internal exec-env/AWS_ECS_EC2 io/sync http/Apache cfg/retry-mode/standard',
    'Boto3/1.28.57 md/Botocore#1.31.57 ua/2.0 os/linux#5.15.0-1047-aws md/arch#x86_64 lang/python#3.11.5 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.31.57',
    'aws-cli/2.13.25 Python/3.11.5 Linux/6.2.0-1012-aws exe/x86_64.ubuntu.22 prompt/off command/s3.cp',
    'aws-sdk-go-v2/1.21.0 os/linux lang/go#1.21.1 md/GOOS#linux md/GOARCH#amd64 api/s3#1.40.0',
    'Terraform/1.5.7 (+https://www.terraform.io) terraform-provider-aws/5.19.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go/1.45.19 (go1.20.8; linux; amd64)',
    'console.amazonaws.com', 'AWS Internal', 'ec2.amazonaws.com', 'lambda.amazonaws.com',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/117.0.0.0 Safari/537.36',
    'aws-sdk-cpp/1.11.178 Linux/5.15.0 x86_64 GCC/11.4.0 md/aws-crt#0.24.1 api/DynamoDB',
]
IPS = ['10.%d.%d.%d' % (R.randint(0, 40), R.randint(0, 255), R.randint(1, 254)) for _ in range(120)] + \
      ['%d.%d.%d.%d' % (R.choice([3, 18, 34, 52, 54, 35, 44, 203]), R.randint(0, 255), R.randint(0, 255), R.randint(1, 254)) for _ in range(60)]
BUCKETS = ['prod-data-lake-raw', 'prod-app-assets', 'tf-state-%s' % hexs(6), 'logs-archive-central', 'ml-training-sets', 'customer-exports']
TABLES = ['Orders', 'Sessions', 'UserProfiles', 'Inventory', 'FeatureFlags', 'RateLimits']
QUEUES = ['order-events', 'email-outbound', 'dlq-order-events', 'ingest-shard-%02d' % 3]
FUNCS = ['resize-image', 'order-validator', 'auth-authorizer', 'nightly-report', 'stream-processor']
KEYS = [uid() for _ in range(6)]
INSTANCES = ['i-' + hexs(17) for _ in range(60)]
SESSIONS = {}
ROLEIDS = {}
USERIDS = {}
AKEYS = {}

def principal(acct):
    t = R.random()
    if t < 0.72:
        role = R.choice(ROLES)
        sess = R.choice(['i-' + hexs(17), 'botocore-session-%d' % R.randint(1690000000, 1699999999), R.choice(USERS) + '@example.com', 'aws-go-sdk-%d' % R.randint(10**18, 10**19 - 1), uid()[:18]]) if R.random() < 0.3 else SESSIONS.setdefault((acct, role), 'i-' + hexs(17))
        roleid = ROLEIDS.setdefault((acct, role), 'AROA' + rid(17))
        akey = AKEYS.setdefault((acct, role, sess), 'ASIA' + rid(16))
        return {
            'type': 'AssumedRole',
            'principalId': '%s:%s' % (roleid, sess),
            'arn': 'arn:aws:sts::%s:assumed-role/%s/%s' % (acct, role, sess),
            'accountId': acct,
            'accessKeyId': akey,
            'sessionContext': {
                'sessionIssuer': {'type': 'Role', 'principalId': roleid, 'arn': 'arn:aws:iam::%s:role/%s' % (acct, role), 'accountId': acct, 'userName': role},
                'webIdFederationData': {},
                'attributes': {'creationDate': None, 'mfaAuthenticated': 'false'},
            },
        }
    elif t < 0.87:
        u = R.choice(USERS)
        return {'type': 'IAMUser', 'principalId': USERIDS.setdefault((acct, u), 'AIDA' + rid(17)), 'arn': 'arn:aws:iam::%s:user/%s' % (acct, u), 'accountId': acct, 'accessKeyId': USERIDS.setdefault((acct, u, 'k'), 'AKIA' + rid(16)), 'userName': u}
    else:
        svc = R.choice(['ec2.amazonaws.com', 'lambda.amazonaws.com', 'autoscaling.amazonaws.com', 'cloudformation.amazonaws.com'])
        return {'type': 'AWSService', 'invokedBy': svc}

def s3_obj_key():
    return '%s/%04d/%02d/%02d/%s.%s' % (R.choice(['events', 'raw/clickstream', 'exports', 'thumbnails', 'models/checkpoints']), 2023, R.randint(1, 12), R.randint(1, 28), uid(), R.choice(['json.gz', 'parquet', 'jpg', 'csv']))

def ev_s3(name, acct, region):
    b = R.choice(BUCKETS)
    rp = {'bucketName': b, 'Host': '%s.s3.%s.amazonaws.com' % (b, region)}
    if name in ('GetObject', 'PutObject', 'HeadObject', 'DeleteObject'):
        rp['key'] = s3_obj_key()
    elif name == 'ListObjectsV2':
        rp.update({'list-type': '2', 'prefix': 'events/2023/%02d/' % R.randint(1, 12), 'max-keys': '1000', 'encoding-type': 'url'})
    res = [{'type': 'AWS::S3::Object', 'ARN': 'arn:aws:s3:::%s/%s' % (b, rp.get('key', ''))}] if 'key' in rp else []
    res.append({'accountId': acct, 'type': 'AWS::S3::Bucket', 'ARN': 'arn:aws:s3:::' + b})
    aed = {'SignatureVersion': 'SigV4', 'CipherSuite': 'ECDHE-RSA-AES128-GCM-SHA256', 'bytesTransferredIn': R.choice([0, R.randint(100, 50_000_000)]), 'AuthenticationMethod': 'AuthHeader',
           'x-amz-id-2': base64.b64encode(R.getrandbits(8 * 57).to_bytes(57, 'big')).decode(), 'bytesTransferredOut': R.randint(0, 9_000_000)}
    resp = {'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': 'arn:aws:kms:%s:%s:key/%s' % (region, acct, R.choice(KEYS))} if name == 'PutObject' else None
    return 's3.amazonaws.com', rp, resp, aed, res, name in ('GetObject', 'HeadObject', 'ListObjectsV2', 'GetBucketAcl'), 'Data' if 'Object' in name else 'Management'

def ev_generic(name, acct, region):
    rp, resp, aed, res = None, None, None, None
    ro = name.startswith(('Describe', 'Get', 'List', 'Lookup'))
    if name in ('AssumeRole',):
        src = 'sts.amazonaws.com'
        role = R.choice(ROLES)
        rp = {'roleArn': 'arn:aws:iam::%s:role/%s' % (acct, role), 'roleSessionName': R.choice(USERS) + '-' + hexs(8), 'durationSeconds': R.choice([900, 3600, 43200])}
        resp = {'credentials': {'accessKeyId': 'ASIA' + rid(16), 'sessionToken': base64.b64encode(R.getrandbits(8 * 60).to_bytes(60, 'big')).decode() + '...', 'expiration': 'Oct 5, 2023, 4:%02d:%02d PM' % (R.randint(0, 59), R.randint(0, 59))},
                'assumedRoleUser': {'assumedRoleId': 'AROA%s:%s' % (rid(17), rp['roleSessionName']), 'arn': 'arn:aws:sts::%s:assumed-role/%s/%s' % (acct, role, rp['roleSessionName'])}}
        res = [{'accountId': acct, 'type': 'AWS::IAM::Role', 'ARN': rp['roleArn']}]
        ro = False
    elif name in ('GetCallerIdentity',):
        src = 'sts.amazonaws.com'
    elif name in ('Decrypt', 'GenerateDataKey', 'Encrypt'):
        src = 'kms.amazonaws.com'
        k = 'arn:aws:kms:%s:%s:key/%s' % (region, acct, R.choice(KEYS))
        rp = {'encryptionAlgorithm': 'SYMMETRIC_DEFAULT', 'encryptionContext': {'aws:s3:arn': 'arn:aws:s3:::%s/%s' % (R.choice(BUCKETS), s3_obj_key())}}
        if name == 'GenerateDataKey':
            rp = {'keyId': k, 'keySpec': 'AES_256', 'encryptionContext': rp['encryptionContext']}
        res = [{'accountId': acct, 'type': 'AWS::KMS::Key', 'ARN': k}]
        ro = name == 'Decrypt'
    elif name in ('GetItem', 'PutItem', 'Query', 'UpdateItem', 'BatchWriteItem', 'DescribeTable'):
        src = 'dynamodb.amazonaws.com'
        t = R.choice(TABLES)
        rp = {'tableName': t}
        if name == 'Query':
            rp.update({'keyConditionExpression': '#pk = :pk AND begins_with(#sk, :sk)', 'limit': 100, 'consistentRead': False})
        elif name != 'DescribeTable':
            rp['key'] = {'pk': {'S': 'USER#' + uid()}, 'sk': {'S': 'ORDER#%d' % R.randint(1, 10**9)}}
        res = [{'accountId': acct, 'type': 'AWS::DynamoDB::Table', 'ARN': 'arn:aws:dynamodb:%s:%s:table/%s' % (region, acct, t)}]
    elif name in ('SendMessage', 'ReceiveMessage', 'DeleteMessage', 'GetQueueAttributes'):
        src = 'sqs.amazonaws.com'
        q = R.choice(QUEUES)
        rp = {'queueUrl': 'https://sqs.%s.amazonaws.com/%s/%s' % (region, acct, q)}
        if name == 'ReceiveMessage':
            rp.update({'maxNumberOfMessages': 10, 'waitTimeSeconds': 20, 'attributeNames': ['All']})
        if name == 'SendMessage':
            resp = {'mD5OfMessageBody': hexs(32), 'messageId': uid()}
    elif name in ('Invoke', 'GetFunction', 'UpdateFunctionCode20150331v2'):
        src = 'lambda.amazonaws.com'
        f = R.choice(FUNCS)
        rp = {'functionName': 'arn:aws:lambda:%s:%s:function:%s' % (region, acct, f)}
        if name == 'Invoke':
            rp['invocationType'] = R.choice(['RequestResponse', 'Event'])
        res = [{'accountId': acct, 'type': 'AWS::Lambda::Function', 'ARN': rp['functionName']}]
    elif name in ('DescribeInstances', 'RunInstances', 'TerminateInstances', 'CreateTags', 'DescribeSecurityGroups', 'AuthorizeSecurityGroupIngress', 'DescribeVolumes'):
        src = 'ec2.amazonaws.com'
        if name == 'DescribeInstances':
            rp = {'instancesSet': {'items': [{'instanceId': R.choice(INSTANCES)} for _ in range(R.randint(1, 4))]}, 'filterSet': {}}
        elif name == 'RunInstances':
            rp = {'instancesSet': {'items': [{'imageId': 'ami-' + hexs(17), 'minCount': 1, 'maxCount': 1}]}, 'instanceType': R.choice(['m6i.large', 'c7g.xlarge', 't3.micro']),
                  'blockDeviceMapping': {}, 'monitoring': {'enabled': False}, 'disableApiTermination': False, 'subnetId': 'subnet-' + hexs(17), 'clientToken': uid()}
            resp = {'requestId': uid(), 'reservationId': 'r-' + hexs(17), 'ownerId': acct, 'instancesSet': {'items': [{'instanceId': 'i-' + hexs(17), 'instanceState': {'code': 0, 'name': 'pending'}, 'privateIpAddress': R.choice(IPS[:120])}]}}
        elif name == 'TerminateInstances':
            i = R.choice(INSTANCES)
            rp = {'instancesSet': {'items': [{'instanceId': i}]}}
            resp = {'requestId': uid(), 'instancesSet': {'items': [{'instanceId': i, 'currentState': {'code': 32, 'name': 'shutting-down'}, 'previousState': {'code': 16, 'name': 'running'}}]}}
        elif name == 'CreateTags':
            rp = {'resourcesSet': {'items': [{'resourceId': R.choice(INSTANCES)}]}, 'tagSet': {'items': [{'key': 'Name', 'value': 'worker-' + hexs(4)}, {'key': 'team', 'value': R.choice(['payments', 'search', 'ml'])}]}}
            resp = {'requestId': uid(), '_return': True}
        elif name == 'AuthorizeSecurityGroupIngress':
            rp = {'groupId': 'sg-' + hexs(17), 'ipPermissions': {'items': [{'ipProtocol': 'tcp', 'fromPort': 443, 'toPort': 443, 'ipRanges': {'items': [{'cidrIp': '10.0.0.0/8'}]}}]}}
            resp = {'requestId': uid(), '_return': True, 'securityGroupRuleSet': {'items': [{'groupOwnerId': acct, 'groupId': rp['groupId'], 'securityGroupRuleId': 'sgr-' + hexs(17), 'isEgress': False, 'ipProtocol': 'tcp', 'fromPort': 443, 'toPort': 443, 'cidrIpv4': '10.0.0.0/8'}]}}
        else:
            rp = {'maxResults': 1000, 'filterSet': {'items': [{'name': 'vpc-id', 'valueSet': {'items': [{'value': 'vpc-' + hexs(17)}]}}]}}
    elif name in ('ConsoleLogin',):
        src = 'signin.amazonaws.com'
        aed = {'LoginTo': 'https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true', 'MobileVersion': 'No', 'MFAIdentifier': 'arn:aws:iam::%s:mfa/%s' % (acct, R.choice(USERS)), 'MFAUsed': 'Yes'}
        resp = {'ConsoleLogin': 'Success'}
        ro = False
    elif name in ('GetSecretValue',):
        src = 'secretsmanager.amazonaws.com'
        rp = {'secretId': 'arn:aws:secretsmanager:%s:%s:secret:prod/db/%s-%s' % (region, acct, R.choice(['orders', 'users']), rid(6, string.ascii_letters))}
    elif name in ('PutMetricData', 'GetMetricData'):
        src = 'monitoring.amazonaws.com'
        rp = {'namespace': R.choice(['App/Orders', 'App/Search', 'ContainerInsights'])}
    else:  # IAM
        src = 'iam.amazonaws.com'
        rp = {'roleName': R.choice(ROLES)} if 'Role' in name else {'userName': R.choice(USERS)}
        if name == 'PutRolePolicy':
            rp.update({'policyName': 'inline-' + hexs(6), 'policyDocument': json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': ['s3:GetObject', 's3:ListBucket'], 'Resource': ['arn:aws:s3:::%s/*' % R.choice(BUCKETS)]}]})})
        region = 'us-east-1'
    return src, rp, resp, aed, res, ro, 'Management'

EVENTS = ([('GetObject', ev_s3)] * 14 + [('PutObject', ev_s3)] * 6 + [('HeadObject', ev_s3)] * 3 + [('ListObjectsV2', ev_s3)] * 3 + [('DeleteObject', ev_s3), ('GetBucketAcl', ev_s3)] +
          [(n, ev_generic) for n in ['AssumeRole'] * 6 + ['Decrypt'] * 6 + ['GenerateDataKey'] * 3 + ['GetItem'] * 5 + ['PutItem'] * 3 + ['Query'] * 3 + ['UpdateItem', 'BatchWriteItem', 'DescribeTable',
           'SendMessage', 'SendMessage', 'ReceiveMessage', 'ReceiveMessage', 'DeleteMessage', 'GetQueueAttributes', 'Invoke', 'Invoke', 'GetFunction', 'UpdateFunctionCode20150331v2',
           'DescribeInstances', 'DescribeInstances', 'RunInstances', 'TerminateInstances', 'CreateTags', 'DescribeSecurityGroups', 'AuthorizeSecurityGroupIngress', 'DescribeVolumes',
           'ConsoleLogin', 'GetSecretValue', 'GetSecretValue', 'PutMetricData', 'GetMetricData', 'GetCallerIdentity', 'GetRole', 'ListRoles', 'PutRolePolicy', 'GetUser', 'ListAttachedRolePolicies']])

ERRORS = [('AccessDenied', 'User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the action'),
          ('NoSuchKey', 'The specified key does not exist.'), ('ThrottlingException', 'Rate exceeded'), ('ResourceNotFoundException', 'Requested resource not found')]

def record(t):
    acct = R.choice(ACCOUNTS)
    region = R.choice(REGIONS)
    name, fn = R.choice(EVENTS)
    src, rp, resp, aed, res, ro, cat = fn(name, acct, region)
    ui = principal(acct)
    if 'sessionContext' in ui:
        ui['sessionContext']['attributes']['creationDate'] = (t - datetime.timedelta(seconds=R.randint(60, 40000))).strftime('%Y-%m-%dT%H:%M:%SZ')
    inv = ui.get('invokedBy')
    rec = {'eventVersion': '1.09' if src == 's3.amazonaws.com' else '1.08', 'userIdentity': ui,
           'eventTime': t.strftime('%Y-%m-%dT%H:%M:%SZ'), 'eventSource': src, 'eventName': name, 'awsRegion': region,
           'sourceIPAddress': inv if inv else R.choice(IPS), 'userAgent': inv if inv else R.choice(AGENTS)}
    if R.random() < 0.04:
        code, msg = R.choice(ERRORS)
        rec['errorCode'] = code
        rec['errorMessage'] = msg % (ui.get('arn', 'anonymous'), src.split('.')[0] + ':' + name, (res or [{'ARN': '*'}])[0]['ARN']) if '%s' in msg else msg
        resp = None
    rec['requestParameters'] = rp
    rec['responseElements'] = resp
    if aed is not None:
        rec['additionalEventData'] = aed
    rec['requestID'] = rid(16) if src == 's3.amazonaws.com' else uid()
    rec['eventID'] = uid()
    rec['readOnly'] = ro
    if res:
        rec['resources'] = res
    rec['eventType'] = 'AwsConsoleSignIn' if name == 'ConsoleLogin' else 'AwsApiCall'
    rec['managementEvent'] = cat == 'Management'
    rec['recipientAccountId'] = acct
    if R.random() < 0.05:
        rec['sharedEventID'] = uid()
    if R.random() < 0.2:
        rec['vpcEndpointId'] = 'vpce-' + hexs(17)
    rec['eventCategory'] = cat
    if src not in ('signin.amazonaws.com',) and not inv:
        rec['tlsDetails'] = {'tlsVersion': R.choice(['TLSv1.2', 'TLSv1.3']), 'cipherSuite': R.choice(['ECDHE-RSA-AES128-GCM-SHA256', 'TLS_AES_128_GCM_SHA256']),
                             'clientProvidedHostHeader': '%s.%s.amazonaws.com' % (src.split('.')[0], region)}
    return rec

t0 = datetime.datetime(2023, 10, 5, 14, 0, 0)
n, size = 0, 0
with open(out, 'w') as f:
    f.write('{"Records":[')
    first = True
    while size < target:
        t = t0 + datetime.timedelta(microseconds=(n % 200000) * 1500)
        s = json.dumps(record(t), separators=(',', ':'))
        if not first:
            f.write(',')
        f.write(s)
        first = False
        size += len(s) + 1
        n += 1
    f.write(']}')
print('records', n, 'bytes', size, 'avg', size / n)
