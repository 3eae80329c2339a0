-- The request mix of scripts/load.sh, for wrk 4 (Debian's `wrk`, with LuaJIT).
--
-- scripts/load.sh seeds a running `tally serve` (owners and applicants with credits and
-- session tokens, a batch of open jobs) and writes what it made as a Lua file, named by
-- TALLY_LOAD_DATA. Each wrk thread then sends, per 100 requests on average:
--
--   reads (70)   25 job board (GET /api/v1/jobs: 15 first page, 5 word search, 5 reward range)
--                10 one job (GET /api/v1/jobs/{id}, anonymous)
--                15 a member's wallet (GET /api/v1/members/{handle}/wallet, as that member)
--                10 a member's statement (GET .../statement?limit=20, as that member)
--                 5 an applicant's applications (GET /api/v1/jobs?applicant=..., as them)
--                 5 an owner's jobs (GET /api/v1/jobs?owner=..., as them)
--   writes (30)   5 grant credits (POST /api/v1/members/{handle}/grant-credits, as admin)
--                10 launch a job (POST /api/v1/jobs, as an owner)
--                15 apply to a job (POST /api/v1/jobs/{id}/apply, as an applicant)
--
-- Every request is valid by construction, so that any non-2xx answer is a real error:
--   * members are either owners (they launch) or applicants (they apply), so nobody applies
--     to their own job;
--   * each thread has its own applicants, and applies each (applicant, job) pair at most
--     once, to the seeded jobs of this run and to the jobs its own launches created (learnt
--     from the 201's Location); no job is ever accepted or cancelled, so every job stays open;
--   * owners start with 1,000,000 credits and rewards are 1 to 10, so launches never run out;
--   * every command carries an Idempotency-Key unique to the run, thread and request;
--   * when a thread has no (applicant, job) pair left, its apply becomes a board read and is
--     counted as `apply_skipped` (none did with the defaults).
-- The answers are tallied by status, and non-2xx ones by their problem `code`, so that a
-- refusal would be named in the report.
--
-- done() prints the run's figures and appends one tab-separated line to TALLY_LOAD_RESULT.
-- LOAD_MIX (e.g. "board=1") replaces the mix, to look at one kind of request alone.

local data_file = os.getenv("TALLY_LOAD_DATA") or error("TALLY_LOAD_DATA is not set")
local D = dofile(data_file)

local WEIGHTS = {
  { "board", 15 }, { "board_search", 5 }, { "board_reward", 5 },
  { "job", 10 }, { "wallet", 15 }, { "statement", 10 },
  { "my_applications", 5 }, { "my_jobs", 5 },
  { "grant", 5 }, { "launch", 10 }, { "apply", 15 },
}
-- LOAD_MIX replaces the mix: "board=1,wallet=1" sends only those, in that proportion.
local mix = os.getenv("LOAD_MIX")
if mix and mix ~= "" then
  local given = {}
  for k, v in mix:gmatch("([%w_]+)=(%d+)") do given[k] = tonumber(v) end
  for _, w in ipairs(WEIGHTS) do
    w[2] = given[w[1]] or 0
    given[w[1]] = nil
  end
  for k in pairs(given) do error("LOAD_MIX: unknown kind " .. k) end
end
local KINDS = {}
local CUMULATIVE, TOTAL_WEIGHT = {}, 0
for i, w in ipairs(WEIGHTS) do
  TOTAL_WEIGHT = TOTAL_WEIGHT + w[2]
  CUMULATIVE[i] = TOTAL_WEIGHT
  KINDS[i] = w[1]
end
if TOTAL_WEIGHT == 0 then error("LOAD_MIX gives every kind a weight of 0") end

local WORDS = { "logo", "design", "fence", "garden", "translate", "review", "survey",
  "photos", "copywriting", "repair", "tutoring", "bookkeeping" }
local SEARCHES = { "logo", "design", "garden", "review", "photos", "repair" }

-- ---- main state: one table per thread, read back in done() ------------------------------
local threads = {}
local next_tid = 0

function setup(thread)
  next_tid = next_tid + 1
  thread:set("tid", next_tid)
  thread:set("thread_count", tonumber(os.getenv("TALLY_LOAD_THREADS") or "1"))
  table.insert(threads, thread)
end

-- ---- thread state ----------------------------------------------------------------------
local my_applicants = {}  -- this thread's applicants
local members = {}        -- every member, for reads (owners and applicants)
local jobs = {}           -- job ids this thread knows: seeded, then launched
local pairs_pool = {}     -- {job, applicant} not applied yet, taken in random order
local counter = 0
sent = {}                 -- requests sent, by kind (read back by done())
statuses = {}             -- answers, by status
codes = {}                -- non-2xx answers, by problem code
learnt = 0                -- jobs launched in this run whose id was read from a 201
skipped = 0               -- applies replaced by a board read because no pair was left

local function offer_job(id)
  jobs[#jobs + 1] = id
  for _, a in ipairs(my_applicants) do
    pairs_pool[#pairs_pool + 1] = { id, a }
  end
end

function init(args)
  tid = tid or 1
  thread_count = thread_count or 1
  math.randomseed(D.nonce + tid * 1000003)
  for i, a in ipairs(D.applicants) do
    if (i - 1) % thread_count == tid - 1 then my_applicants[#my_applicants + 1] = a end
    members[#members + 1] = a
  end
  for _, o in ipairs(D.owners) do members[#members + 1] = o end
  for _, id in ipairs(D.jobs) do offer_job(id) end
  for _, k in ipairs(KINDS) do sent[k] = 0 end
  sent.apply_skipped = 0
end

local function pick(list) return list[math.random(#list)] end

local function auth(token)
  return { ["Authorization"] = "Bearer " .. token }
end

-- Milliseconds since 1970 (LuaJIT's FFI; whole seconds if it is not there).
local now_ms = function() return os.time() * 1000 end
do
  local ok, ffi = pcall(require, "ffi")
  if ok then
    pcall(ffi.cdef, "typedef struct { long tv_sec; long tv_usec; } load_timeval;"
      .. " int gettimeofday(load_timeval *tv, void *tz);")
    local tv = ffi.new("load_timeval")
    now_ms = function()
      ffi.C.gettimeofday(tv, nil)
      return tonumber(tv.tv_sec) * 1000 + math.floor(tonumber(tv.tv_usec) / 1000)
    end
  end
end

-- An Idempotency-Key in the UUIDv7 layout: the time in ms first, then the thread, the run's
-- nonce and a counter, so it is unique per run, thread and request. The time comes first
-- because the service names a launched job by its command id, and the board lists jobs in
-- the order of their ids (newest first), as with the ids the service assigns itself.
local function command_headers(token)
  counter = counter + 1
  local h = auth(token)
  h["Content-Type"] = "application/json"
  local ms = now_ms()
  h["Idempotency-Key"] = string.format("%08x-%04x-7%03x-%04x-%04x%08x",
    math.floor(ms / 65536), ms % 65536, tid % 4096, 0x8000 + D.nonce % 0x4000,
    math.floor(D.nonce / 0x4000) % 0x10000, counter)
  return h
end

local function choose()
  local r = math.random(TOTAL_WEIGHT)
  for i, c in ipairs(CUMULATIVE) do
    if r <= c and WEIGHTS[i][2] > 0 then return KINDS[i] end
  end
  return KINDS[#KINDS]
end

local function take_pair()
  local n = #pairs_pool
  if n == 0 then return nil end
  local i = math.random(n)
  local p = pairs_pool[i]
  pairs_pool[i] = pairs_pool[n]
  pairs_pool[n] = nil
  return p
end

function request()
  local kind = choose()
  if kind == "apply" and #pairs_pool == 0 then
    sent.apply_skipped = sent.apply_skipped + 1
    kind = "board"
  end
  sent[kind] = sent[kind] + 1

  if kind == "board" then
    return wrk.format("GET", "/api/v1/jobs?limit=20")
  elseif kind == "board_search" then
    return wrk.format("GET", "/api/v1/jobs?limit=20&q=" .. pick(SEARCHES))
  elseif kind == "board_reward" then
    local lo = math.random(1, 5)
    return wrk.format("GET", string.format("/api/v1/jobs?limit=20&min_reward=%d&max_reward=%d", lo, lo + 4))
  elseif kind == "job" then
    return wrk.format("GET", "/api/v1/jobs/" .. pick(jobs))
  elseif kind == "wallet" then
    local m = pick(members)
    return wrk.format("GET", "/api/v1/members/" .. m.handle .. "/wallet", auth(m.token))
  elseif kind == "statement" then
    local m = pick(members)
    return wrk.format("GET", "/api/v1/members/" .. m.handle .. "/statement?limit=20", auth(m.token))
  elseif kind == "my_applications" then
    local m = pick(my_applicants)
    return wrk.format("GET", "/api/v1/jobs?limit=20&applicant=" .. m.handle, auth(m.token))
  elseif kind == "my_jobs" then
    local m = pick(D.owners)
    return wrk.format("GET", "/api/v1/jobs?limit=20&owner=" .. m.handle, auth(m.token))
  elseif kind == "grant" then
    local m = pick(members)
    local body = string.format('{"amount":%d,"reason":"Load test top-up","category":"purchase"}',
      math.random(1, 100))
    return wrk.format("POST", "/api/v1/members/" .. m.handle .. "/grant-credits",
      command_headers(D.admin), body)
  elseif kind == "launch" then
    local o = pick(D.owners)
    local w1, w2 = pick(WORDS), pick(WORDS)
    local body = string.format(
      '{"title":"%s and %s, batch %d-%d","description":"Needs %s work; about %d hours.","reward":%d}',
      w1, w2, tid, counter + 1, w2, math.random(1, 40), math.random(1, 10))
    return wrk.format("POST", "/api/v1/jobs", command_headers(o.token), body)
  else -- apply
    local p = take_pair()
    local body = string.format('{"pitch":"I have done %s work before.","proposed_days":%d}',
      pick(WORDS), math.random(1, 30))
    return wrk.format("POST", "/api/v1/jobs/" .. p[1] .. "/apply", command_headers(p[2].token), body)
  end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 201 then
    local loc = headers["location"] or headers["Location"]
    local id = loc and loc:match("^/api/v1/jobs/([%x%-]+)")  -- .../{id}/owner-view
    if id then
      learnt = learnt + 1
      offer_job(id)
    end
  elseif status < 200 or status > 299 then
    local code = body and body:match('"code"%s*:%s*"([%w_:%-]+)"') or ("http_" .. status)
    codes[code] = (codes[code] or 0) + 1
  end
end

-- ---- main state again: the run's figures -----------------------------------------------
local function add_into(total, part)
  for k, v in pairs(part or {}) do total[k] = (total[k] or 0) + v end
end

local function fmt_counts(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local out = {}
  for _, k in ipairs(keys) do out[#out + 1] = tostring(k) .. "=" .. t[k] end
  return #out > 0 and table.concat(out, " ") or "none"
end

function done(summary, latency, requests)
  local total_sent, total_status, total_codes = {}, {}, {}
  local total_learnt = 0
  for _, t in ipairs(threads) do
    add_into(total_sent, t:get("sent"))
    add_into(total_status, t:get("statuses"))
    add_into(total_codes, t:get("codes"))
    total_learnt = total_learnt + (t:get("learnt") or 0)
  end
  local secs = summary.duration / 1e6
  local non2xx = 0
  for s, n in pairs(total_status) do
    if s < 200 or s > 299 then non2xx = non2xx + n end
  end
  local e = summary.errors
  local socket = e.connect + e.read + e.write + e.timeout
  local ms = function(p) return latency:percentile(p) / 1000 end
  io.write(string.format(
    "\nrequests %d in %.1f s = %.0f req/s; latency p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
    summary.requests, secs, summary.requests / secs, ms(50), ms(90), ms(99), latency.max / 1000))
  io.write(string.format("non-2xx %d; socket errors %d (connect %d, read %d, write %d, timeout %d)\n",
    non2xx, socket, e.connect, e.read, e.write, e.timeout))
  io.write("statuses: " .. fmt_counts(total_status) .. "\n")
  io.write("refusals by code: " .. fmt_counts(total_codes) .. "\n")
  io.write("sent by kind: " .. fmt_counts(total_sent) .. "\n")
  io.write(string.format("jobs launched and learnt from Location: %d\n", total_learnt))
  local out = os.getenv("TALLY_LOAD_RESULT")
  if out then
    local f = assert(io.open(out, "a"))
    f:write(string.format("%d\t%.1f\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%d\t%d\t%s\t%s\n",
      summary.requests, secs, summary.requests / secs, ms(50), ms(90), ms(99),
      latency.max / 1000, non2xx, socket, total_learnt, fmt_counts(total_codes),
      fmt_counts(total_sent)))
    f:close()
  end
end
