/**
 * User and topic presence in Redis, one script so every transition is one
 * atomic step. Keys (besides the leases it reads) are built from the prefix,
 * which is why the script declares none: a single Redis (or Sentinel), as
 * for the rest of cluster mode; Redis Cluster is not supported.
 *
 *   <p>presence:users          HASH member -> state (the user level)
 *   <p>presence:topic:<t>      HASH member -> state (topic t)
 *       state = {"s": since, "c": {clientId: node}, "l": grace end (absent while a connection is live), "r": reason}
 *   <p>presence:node:<n>       HASH "<clientId>\n<scope>" -> member: node n's share, for reaping and rewriting it
 *   <p>presence:nodes          SET of nodes with a share
 *   <p>presence:leaving        ZSET "<scope>\n<member>" scored by the end of its grace
 *   <p>presence:changes        channel: topic joins and leaves, ["<topic>", "j"|"l", member, since]
 *
 * ARGV: prefix, this node, grace ms, mode, then per mode:
 *   apply   ops as flat quintuples: add (1|0), scope, member, clientId, reason; "immediate" leaves use reason "!<reason>"
 *   sync    entries as flat triples: clientId, scope, member (this node's whole share)
 *   reap    the dead node's id
 *   expire  the most graces to end in this call
 * Returns {status, now, kind, member, since, reason, ...} with the user-level
 * transitions made; status is "ok", "resync" (apply refused: this node's
 * share was reaped, rewrite it first), "alive" (reap: the lease is back) or
 * the number of graces looked at (expire).
 */
export const PRESENCE_LUA = `
local prefix, node, grace, mode = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nodesKey = prefix .. 'presence:nodes'
local leavingKey = prefix .. 'presence:leaving'
local channel = prefix .. 'presence:changes'
local function nodeKey(n) return prefix .. 'presence:node:' .. n end
local function scopeKey(scope)
  if scope == '' then return prefix .. 'presence:users' end
  return prefix .. 'presence:topic:' .. scope
end
local out = {'ok', now}
local alive = {}
local function live(n)
  if n == node then return true end
  if alive[n] == nil then alive[n] = redis.call('EXISTS', prefix .. 'node:' .. n .. ':lease') == 1 end
  return alive[n]
end
local function anyLive(c)
  for _, n in pairs(c) do if live(n) then return true end end
  return false
end
local function load(scope, member)
  local v = redis.call('HGET', scopeKey(scope), member)
  if v then return cjson.decode(v) end
  return nil
end
local function save(scope, member, st) redis.call('HSET', scopeKey(scope), member, cjson.encode(st)) end
local function transition(kind, member, since, reason)
  out[#out + 1] = kind; out[#out + 1] = member; out[#out + 1] = since; out[#out + 1] = reason
end
local function gone(scope, member, st)
  redis.call('HDEL', scopeKey(scope), member)
  if scope == '' then transition('offline', member, st.s, st.r or 'connection_lost')
  else redis.call('PUBLISH', channel, cjson.encode({scope, 'l', member, st.s})) end
end
local function add(scope, member, client, n)
  local st = load(scope, member)
  if st == nil then
    st = {s = now, c = {}}
    if scope == '' then transition('online', member, now, '')
    else redis.call('PUBLISH', channel, cjson.encode({scope, 'j', member, now})) end
  elseif st.l then
    -- back within the grace: no transition
    st.l = nil; st.r = nil
    redis.call('ZREM', leavingKey, scope .. '\\n' .. member)
  end
  st.c[client] = n
  save(scope, member, st)
end
local function remove(scope, member, client, reason, immediate)
  local st = load(scope, member)
  if st == nil or st.c[client] == nil then return end
  st.c[client] = nil
  if anyLive(st.c) then save(scope, member, st); return end
  st.r = reason
  if immediate then gone(scope, member, st); return end
  if not st.l then
    st.l = now + grace
    redis.call('ZADD', leavingKey, st.l, scope .. '\\n' .. member)
  end
  save(scope, member, st)
end
local function split(field)
  local i = string.find(field, '\\n', 1, true)
  return string.sub(field, 1, i - 1), string.sub(field, i + 1)
end

if mode == 'apply' then
  if redis.call('SISMEMBER', nodesKey, node) == 0 then out[1] = 'resync'; return out end
  local own = nodeKey(node)
  for i = 5, #ARGV, 5 do
    local isAdd, scope, member, client, reason = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
    if isAdd == '1' then
      redis.call('HSET', own, client .. '\\n' .. scope, member)
      add(scope, member, client, node)
    else
      redis.call('HDEL', own, client .. '\\n' .. scope)
      local immediate = string.sub(reason, 1, 1) == '!'
      if immediate then reason = string.sub(reason, 2) end
      remove(scope, member, client, reason, immediate)
    end
  end
elseif mode == 'sync' then
  local own = nodeKey(node)
  local wanted = {}
  for i = 5, #ARGV, 3 do wanted[ARGV[i] .. '\\n' .. ARGV[i + 1]] = ARGV[i + 2] end
  local old = redis.call('HGETALL', own)
  local had = {}
  for i = 1, #old, 2 do
    had[old[i]] = true
    if wanted[old[i]] ~= old[i + 1] then
      local client, scope = split(old[i])
      redis.call('HDEL', own, old[i])
      remove(scope, old[i + 1], client, 'connection_lost', false)
    end
  end
  for field, member in pairs(wanted) do
    local client, scope = split(field)
    redis.call('HSET', own, field, member)
    -- add() also puts back a connection that a reap or an expiry took away
    add(scope, member, client, node)
  end
  redis.call('SADD', nodesKey, node)
elseif mode == 'reap' then
  local dead = ARGV[5]
  if live(dead) then out[1] = 'alive'; return out end
  local entries = redis.call('HGETALL', nodeKey(dead))
  redis.call('DEL', nodeKey(dead))
  redis.call('SREM', nodesKey, dead)
  for i = 1, #entries, 2 do
    local client, scope = split(entries[i])
    remove(scope, entries[i + 1], client, 'node_lost', false)
  end
elseif mode == 'expire' then
  local due = redis.call('ZRANGEBYSCORE', leavingKey, '-inf', now, "LIMIT", 0, tonumber(ARGV[5]))
  out[1] = #due
  for _, entry in ipairs(due) do
    redis.call('ZREM', leavingKey, entry)
    local scope, member = split(entry)
    local st = load(scope, member)
    if st and st.l and st.l <= now then
      if anyLive(st.c) then
        -- a node that only looked dead renews again: its connections count
        st.l = nil; st.r = nil
        save(scope, member, st)
      else
        gone(scope, member, st)
      end
    end
  end
end
return out
`;
