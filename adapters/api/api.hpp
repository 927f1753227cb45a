#pragma once
// trailkit_api — the CloudTrail-compatible API: `trailkit serve` (server side) and the small
// CloudTrail JSON 1.1 client `trailkit validate` uses. See api/*.hpp.
