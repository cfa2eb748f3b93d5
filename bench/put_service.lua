-- wrk script: every request creates a new (stopped) service on Blixard.
local common = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") ..
	"wrk_common.lua")
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
	thread:set("tid", #threads)
	table.insert(threads, thread)
end

function init(args)
	prefix = "b" .. tostring(tid) .. "-" .. common.run_id() .. "-"
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

done = common.done
