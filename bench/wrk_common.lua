-- What the wrk scripts share (loaded with dofile from the script's folder).
local M = {}

-- A prefix of its own for every run and thread, so that every request writes a
-- new record: Lua's random numbers start from the same seed in each wrk run
-- (later runs overwrote the first run's records).
function M.run_id()
	local f = assert(io.open("/dev/urandom", "rb"))
	local bytes = f:read(6)
	f:close()
	return (bytes:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

-- One line for bench/api_writes.sh to read.
function M.done(summary, latency, requests)
	io.write(string.format("RESULT requests=%d errors=%d p50_us=%d p99_us=%d duration_us=%d\n",
		summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read +
		summary.errors.write + summary.errors.timeout,
		latency:percentile(50), latency:percentile(99), summary.duration))
end

return M
