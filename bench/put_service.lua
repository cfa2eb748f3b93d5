-- wrk script: every request creates a new (stopped) service on Blixard.
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
	thread:set("tid", #threads)
	table.insert(threads, thread)
end

function init(args)
	prefix = "b" .. tostring(tid) .. "-" .. tostring(math.random(1, 1000000000)) .. "-"
end

-- the TCP API's token (scripts/lib_secret.sh exports it), when there is one
local headers = {["Content-Type"] = "application/json"}
if os.getenv("BLIXARD_TOKEN") then
	headers["Authorization"] = "Bearer " .. os.getenv("BLIXARD_TOKEN")
end

local body = '{"spec":{"service":{"driver":"process"},"process":{"command":["/bin/true"]}},"start":false}'

function request()
	counter = counter + 1
	return wrk.format("PUT", "/v1/services/" .. prefix .. counter, headers, body)
end

function done(summary, latency, requests)
	io.write(string.format("RESULT requests=%d errors=%d p50_us=%d p99_us=%d duration_us=%d\n",
		summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read +
		summary.errors.write + summary.errors.timeout,
		latency:percentile(50), latency:percentile(99), summary.duration))
end
