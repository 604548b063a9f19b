-- apply_events.lua: apply one customer's events to their packed feature state, atomically.
-- Python twin: features/state.py (CustomerState.apply); layout: features/state_codec.py.
--
-- KEYS[1]  the customer's state key, "{prefix}:{<customer id>}:f" (a string, the packed state)
-- ARGV[1]  ring size: how many applied event fingerprints the customer keeps (1..40)
-- ARGV[2]  the events in delivery order, concatenated fixed-size records '<BIidd c8 BBBdiH dIdBB':
--          kind (1 call, 2 top-up, 3 complaint, 4 lifecycle), topic id, partition, offset,
--          event time (epoch us), event-id fingerprint, a (call flags | top-up channel |
--          complaint category | lifecycle kind), b (call time-of-day band | complaint severity |
--          payment type), c (complaint resolved), x (call minutes | top-up amount), contact
--          bucket, contact bit, m (call charge | monthly fee, -1 unknown), plan code (0: none
--          named), activated (epoch us, inf unknown), commitment months, bundled services
--          (255 unknown)
-- Reply:   {state, outcomes}: the packed state after the batch, and one byte per event:
--          'a' applied, 'd' duplicate event id, 'r' replayed position,
--          'D' replayed position that was a duplicate the first time

local RECORD = '<BIiddc8BBBdiHdIdBB'
local NSUMS = 37
local FIXED = '<dd' .. string.rep('d', NSUMS) .. 'ddddd' .. 'dc8B' .. 'dc8B' .. 'i' .. string.rep('i', 32)
              .. 'dc8IBBd'
-- top-up channel index (features.records.TOPUP_CHANNELS) -> 0-based channel-group sum offset
local CHANNEL_GROUP = {[1] = 2, [2] = 1, [3] = 1, [4] = 2, [5] = 0, [6] = 0}
local DAY_US = 86400000000
local TAU_US = {7 * DAY_US, 30 * DAY_US, 90 * DAY_US}
local NO_BUCKET = -2147483648
local RING_ENTRY = 12
local NO_PRINT = string.rep('\0', 8)

-- fixed-part slots (1-based) after unpacking FIXED
local LAST, FIRST, S0 = 1, 2, 2 -- sum k (0-based, as in Python) lives at v[S0 + 1 + k]
local FIRST_TOPUP, LAST_TOPUP, TOPUP_TOTAL = S0 + NSUMS + 1, S0 + NSUMS + 2, S0 + NSUMS + 3
local LAST_COMPLAINT, FIRST_ACTIVATION = S0 + NSUMS + 4, S0 + NSUMS + 5
local LC_TIME, LC_PRINT, LC_CHURNED = S0 + NSUMS + 6, S0 + NSUMS + 7, S0 + NSUMS + 8
local PT_TIME, PT_PRINT, PT_TYPE = S0 + NSUMS + 9, S0 + NSUMS + 10, S0 + NSUMS + 11
local BUCKET, WORD0 = S0 + NSUMS + 12, S0 + NSUMS + 12 -- word j (0-based) lives at v[WORD0 + 1 + j]
local PL_TIME, PL_PRINT, PL_CODE = WORD0 + 33, WORD0 + 34, WORD0 + 35
local PL_COMMITMENT, PL_BUNDLES, PL_FEE = WORD0 + 36, WORD0 + 37, WORD0 + 38

local ring_size = tonumber(ARGV[1])
local events = ARGV[2]

local v, ring, positions
local stored = redis.call('GET', KEYS[1])
if stored then
  v = {struct.unpack(FIXED, stored)}
  local at = table.remove(v)
  ring, at = struct.unpack('<Hc0', stored, at)
  local count
  count, at = struct.unpack('<B', stored, at)
  positions = {}
  for i = 1, count do
    local topic, partition, offset
    topic, partition, offset, at = struct.unpack('<Iid', stored, at)
    positions[i] = {topic, partition, offset}
  end
else
  v = {-math.huge, math.huge}
  for k = 1, NSUMS do v[S0 + k] = 0 end
  v[FIRST_TOPUP], v[LAST_TOPUP], v[TOPUP_TOTAL] = math.huge, -math.huge, 0
  v[LAST_COMPLAINT], v[FIRST_ACTIVATION] = -math.huge, math.huge
  v[LC_TIME], v[LC_PRINT], v[LC_CHURNED] = -math.huge, NO_PRINT, 0
  v[PT_TIME], v[PT_PRINT], v[PT_TYPE] = -math.huge, NO_PRINT, 0
  v[BUCKET] = NO_BUCKET
  for j = 1, 32 do v[WORD0 + j] = 0 end
  v[PL_TIME], v[PL_PRINT], v[PL_CODE] = -math.huge, NO_PRINT, 0
  v[PL_COMMITMENT], v[PL_BUNDLES], v[PL_FEE] = 255, 255, -1
  ring = ''
  positions = {}
end

-- sum k (0-based) decays with TAU_US[tau_slot(k)]
local function tau_slot(k)
  if k < 4 then return 1 elseif k < 21 then return 2 elseif k < 28 then return 3
  elseif k < 33 then return 2 else return 3 end
end

-- true if this position was applied before; otherwise records it as the topic's last position
local function is_replay(topic, partition, offset)
  for i = 1, #positions do
    local p = positions[i]
    if p[1] == topic then
      if p[2] == partition and offset <= p[3] then return true end
      p[2], p[3] = partition, offset
      return false
    end
  end
  positions[#positions + 1] = {topic, partition, offset}
  return false
end

-- byte index (1-based) of an entry holding this fingerprint, or nil
local function ring_find(print)
  local start = 1
  while true do
    local found = string.find(ring, print, start, true)
    if not found or (found - 1) % RING_ENTRY == 0 then return found end
    start = found + 1
  end
end

-- (t1, print1) after (t0, print0), fingerprints compared as unsigned big-endian bytes
local function later(t1, print1, t0, print0)
  if t1 ~= t0 then return t1 > t0 end
  local a1, b1 = struct.unpack('>I4I4', print1)
  local a0, b0 = struct.unpack('>I4I4', print0)
  if a1 ~= a0 then return a1 > a0 end
  return b1 > b0
end

local function add_contact(bucket, bitno)
  local latest = v[BUCKET]
  if latest == NO_BUCKET then
    v[BUCKET] = bucket
    latest = bucket
  elseif bucket > latest then
    for cleared = latest + 1, math.min(bucket, latest + 4) do
      local start = WORD0 + (cleared % 4) * 8
      for j = 1, 8 do v[start + j] = 0 end
    end
    v[BUCKET] = bucket
    latest = bucket
  end
  if bucket > latest - 4 then
    local index = WORD0 + 1 + (bucket % 4) * 8 + math.floor(bitno / 32)
    v[index] = bit.bor(v[index], bit.lshift(1, bitno % 32))
  end
end

local function add_event(kind, t, print, a, b, c, x, bucket, bitno, m, plan, activated, term, bundles)
  if t > v[LAST] then
    local elapsed = t - v[LAST]
    local shift = {math.exp(-elapsed / TAU_US[1]), math.exp(-elapsed / TAU_US[2]),
                   math.exp(-elapsed / TAU_US[3])}
    for k = 0, NSUMS - 1 do
      v[S0 + 1 + k] = v[S0 + 1 + k] * shift[tau_slot(k)]
    end
    v[LAST] = t
  end
  local age = v[LAST] - t
  local w7, w30, w90 = math.exp(-age / TAU_US[1]), math.exp(-age / TAU_US[2]),
                       math.exp(-age / TAU_US[3])
  if t < v[FIRST] then v[FIRST] = t end
  local s = S0 + 1 -- v[s + k] is sum k
  if kind == 1 then
    local base7, base30, base90
    if bit.band(a, 1) ~= 0 then
      base7, base30, base90 = 0, 4, 21
      if bit.band(a, 4) ~= 0 then v[s + 9] = v[s + 9] + x * w30 end
    else
      base7, base30, base90 = 1, 5, 22
    end
    v[s + base7] = v[s + base7] + w7
    v[s + base30] = v[s + base30] + w30
    v[s + base90] = v[s + base90] + w90
    v[s + base7 + 2] = v[s + base7 + 2] + x * w7
    v[s + base30 + 2] = v[s + base30 + 2] + x * w30
    v[s + base90 + 2] = v[s + base90 + 2] + x * w90
    if bit.band(a, 2) ~= 0 then v[s + 8] = v[s + 8] + w30 end
    if bit.band(a, 8) ~= 0 then v[s + 31] = v[s + 31] + x * w30 end
    if bit.band(a, 16) ~= 0 then v[s + 32] = v[s + 32] + x * w30 end
    if b == 1 then v[s + 29] = v[s + 29] + w30 elseif b == 3 then v[s + 30] = v[s + 30] + w30 end
    v[s + 28] = v[s + 28] + m * w30
    v[s + 33] = v[s + 33] + m * w90
    add_contact(bucket, bitno)
  elseif kind == 2 then
    v[s + 10] = v[s + 10] + x * w30
    v[s + 25] = v[s + 25] + x * w90
    v[s + 11] = v[s + 11] + w30
    v[s + 26] = v[s + 26] + w90
    local group = CHANNEL_GROUP[a]
    if group then v[s + 34 + group] = v[s + 34 + group] + w90 end
    if t < v[FIRST_TOPUP] then v[FIRST_TOPUP] = t end
    if t > v[LAST_TOPUP] then v[LAST_TOPUP] = t end
    v[TOPUP_TOTAL] = v[TOPUP_TOTAL] + 1
  elseif kind == 3 then
    v[s + 12] = v[s + 12] + w30
    v[s + 27] = v[s + 27] + w90
    v[s + 13 + a] = v[s + 13 + a] + w30
    v[s + 19] = v[s + 19] + b * w30
    if c == 0 then v[s + 20] = v[s + 20] + w30 end
    if t > v[LAST_COMPLAINT] then v[LAST_COMPLAINT] = t end
  elseif kind == 4 then
    if a == 0 and t < v[FIRST_ACTIVATION] then v[FIRST_ACTIVATION] = t end
    if activated < v[FIRST_ACTIVATION] then v[FIRST_ACTIVATION] = activated end
    if a ~= 5 and later(t, print, v[LC_TIME], v[LC_PRINT]) then -- a profile (5) changes no state
      v[LC_TIME], v[LC_PRINT] = t, print
      if a == 2 or a == 3 then v[LC_CHURNED] = 1 else v[LC_CHURNED] = 0 end
    end
    if b ~= 0 and later(t, print, v[PT_TIME], v[PT_PRINT]) then
      v[PT_TIME], v[PT_PRINT], v[PT_TYPE] = t, print, b
    end
    if plan ~= 0 and later(t, print, v[PL_TIME], v[PL_PRINT]) then
      v[PL_TIME], v[PL_PRINT], v[PL_CODE] = t, print, plan
      v[PL_COMMITMENT], v[PL_BUNDLES], v[PL_FEE] = term, bundles, m
    end
  end
end

local outcomes = {}
local at = 1
local size = #events
while at <= size do
  local kind, topic, partition, offset, t, print, a, b, c, x, bucket, bitno, m, plan, activated
  local term, bundles
  kind, topic, partition, offset, t, print, a, b, c, x, bucket, bitno, m, plan, activated, term,
    bundles, at = struct.unpack(RECORD, events, at)
  local tag = struct.pack('<I4', math.fmod(topic + offset, 4294967296))
  local outcome
  if is_replay(topic, partition, offset) then
    outcome = 'r'
    local found = ring_find(print)
    if found and string.sub(ring, found + 8, found + 11) ~= tag then outcome = 'D' end
  elseif ring_find(print) then
    outcome = 'd'
  else
    ring = ring .. print .. tag
    if #ring > ring_size * RING_ENTRY then ring = string.sub(ring, -ring_size * RING_ENTRY) end
    add_event(kind, t, print, a, b, c, x, bucket, bitno, m, plan, activated, term, bundles)
    outcome = 'a'
  end
  outcomes[#outcomes + 1] = outcome
end

local parts = {struct.pack(FIXED, unpack(v)), struct.pack('<H', #ring), ring,
               struct.pack('<B', #positions)}
for i = 1, #positions do
  local p = positions[i]
  parts[#parts + 1] = struct.pack('<Iid', p[1], p[2], p[3])
end
local state = table.concat(parts)
redis.call('SET', KEYS[1], state)
return {state, table.concat(outcomes)}
