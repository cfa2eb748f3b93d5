-- wrk script: every request writes a new key to etcd through its v3 JSON gateway.
local common = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") ..
	"wrk_common.lua")
local threads = {}

function setup(thread)
	thread:set("tid", #threads)
	table.insert(threads, thread)
end

function init(args)
	counter = 0
	prefix = "b" .. tostring(tid) .. "-" .. common.run_id() .. "-"
end

local b64chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
local function b64(data)
	return ((data:gsub('.', function(x)
		local r, b = '', x:byte()
		for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and '1' or '0') end
		return r
	end) .. '0000'):gsub('%d%d%d?%d?%d?%d?', function(x)
		if (#x < 6) then return '' end
		local c = 0
		for i = 1, 6 do c = c + (x:sub(i, i) == '1' and 2 ^ (6 - i) or 0) end
		return b64chars:sub(c + 1, c + 1)
	end) .. ({'', '==', '='})[#data % 3 + 1])
end

-- the same payload size as a Blixard service spec
local value = b64('{"spec":{"service":{"driver":"process"},"process":{"command":["/bin/true"]}},"start":false}')

function request()
	counter = counter + 1
	local body = '{"key":"' .. b64("/services/" .. prefix .. counter) .. '","value":"' .. value .. '"}'
	return wrk.format("POST", "/v3/kv/put", {["Content-Type"] = "application/json"}, body)
end

done = common.done
