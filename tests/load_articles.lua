-- wrk script: a mixed workload on the articles API, three reads to one write; with a tenant,
-- one read in three is of the organisation's members.
-- Arguments (after `--`): bearer token, tenant slug (or ""), title prefix of the new rows.
-- Prints one JSON line over every thread: answers by status, writes sent, 201s and 5xx.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local token = args[1]
  tenant, prefix = args[2], args[3]
  sent, posted, created, server_errors, statuses = 0, 0, 0, 0, {}
  -- Separate tables: wrk.format adds Content-Length to the headers it is given.
  reads, writes = {}, {}
  for _, headers in ipairs({reads, writes}) do
    headers["Authorization"] = "Bearer " .. token
    headers["X-Forwarded-Proto"] = "https"
    if tenant ~= "" then
      headers["X-Tenant"] = tenant
    end
  end
  writes["Content-Type"] = "application/json"
end

function request()
  sent = sent + 1
  if sent % 4 == 0 then
    posted = posted + 1
    local body = string.format('{"title": "%s %d", "body": "Written under load."}', prefix, sent)
    return wrk.format("POST", "/api/v1/articles/", writes, body)
  end
  if tenant ~= "" and sent % 4 == 2 then
    return wrk.format("GET", "/api/v1/organisation/members/", reads)
  end
  return wrk.format("GET", "/api/v1/articles/", reads)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 201 then
    created = created + 1
  elseif status >= 500 then
    server_errors = server_errors + 1
  end
end

function done(summary, latency, requests)
  local total_posted, total_created, total_errors, by_status = 0, 0, 0, {}
  for _, thread in ipairs(threads) do
    total_posted = total_posted + thread:get("posted")
    total_created = total_created + thread:get("created")
    total_errors = total_errors + thread:get("server_errors")
    for status, count in pairs(thread:get("statuses")) do
      by_status[status] = (by_status[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(by_status) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  local errors = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "posted": %d, "created": %d, "server_errors": %d, ' ..
    '"socket_errors": %d, ' ..
    '"timeouts": %d, "statuses": {%s}}\n',
    summary.requests, total_posted, total_created, total_errors,
    errors.connect + errors.read + errors.write, errors.timeout, table.concat(parts, ", ")
  ))
end
