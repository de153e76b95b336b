// exp, expm1, tanh and sigmoid on f64x2 lanes (see ../mathf64.ts for bounds).

import {
  F, HALF, INF, K, MAGIC, ONE, TINY_28, TWO, add, div, mul, pow2, scale, sel, signOf, sub,
} from './lanes';

// x = (128 k + j) ln2/128 + r, |r| <= ln2/256, k = round(128 x / ln2) by the MAGIC shift;
// e^x = 2^k 2^(j/128) e^r with 2^(j/128) = Th (1 + tail) from EXP_TABLE (Th correctly rounded,
// tail its relative remainder) and e^r - 1 a Taylor polynomial (on |r| <= 2^-8.5 the first
// omitted term is below 2^-60 relative). No division; the result is Th 2^k (1 + tail + p)
// with one final rounding of a sum whose small part is accurate to ~2^-60: about 0.51 ulp.

// 2^(j/128) for j = 0..127: Th bits, tail bits (generated with 256-bit BigInt arithmetic).
const EXP_TABLE: usize = memory.data<u64>([
  0x3FF0000000000000, 0x0000000000000000, 0x3FF0163DA9FB3335, 0x3C9B3B4F1A88BF6E,
  0x3FF02C9A3E778061, 0xBC7160139CD8DC5D, 0x3FF04315E86E7F85, 0xBC905E7A108766D1,
  0x3FF059B0D3158574, 0x3C8CD2523567F613, 0x3FF0706B29DDF6DE, 0xBC8BCE8023F98EFA,
  0x3FF0874518759BC8, 0x3C60F74E61E6C861, 0x3FF09E3ECAC6F383, 0x3C90A3E45B33D399,
  0x3FF0B5586CF9890F, 0x3C979AA65D837B6D, 0x3FF0CC922B7247F7, 0x3C8EB51A92FDEFFC,
  0x3FF0E3EC32D3D1A2, 0x3C3EBE3D702F9CD1, 0x3FF0FB66AFFED31B, 0xBC6A033489906E0B,
  0x3FF11301D0125B51, 0xBC9556522A2FBD0E, 0x3FF12ABDC06C31CC, 0xBC5080EF8C4EEA55,
  0x3FF1429AAEA92DE0, 0xBC91C923B9D5F416, 0x3FF15A98C8A58E51, 0x3C80D3E3E95C55AF,
  0x3FF172B83C7D517B, 0xBC801B15EAA59348, 0x3FF18AF9388C8DEA, 0xBC8F1FF055DE323D,
  0x3FF1A35BEB6FCB75, 0x3C8B898C3F1353BF, 0x3FF1BBE084045CD4, 0xBC96D99C7611EB26,
  0x3FF1D4873168B9AA, 0x3C9AECF73E3A2F60, 0x3FF1ED5022FCD91D, 0xBC8FE782CB86389D,
  0x3FF2063B88628CD6, 0x3C8A6F4144A6C38D, 0x3FF21F49917DDC96, 0x3C807A05B0E4047D,
  0x3FF2387A6E756238, 0x3C968EFDE3A8A894, 0x3FF251CE4FB2A63F, 0x3C875E18F274487D,
  0x3FF26B4565E27CDD, 0x3C80472B981FE7F2, 0x3FF284DFE1F56381, 0xBC96B87B3F71085E,
  0x3FF29E9DF51FDEE1, 0x3C82F7E16D09AB31, 0x3FF2B87FD0DAD990, 0xBC3D219B1A6FBFFA,
  0x3FF2D285A6E4030B, 0x3C8B3782720C0AB4, 0x3FF2ECAFA93E2F56, 0x3C6E149289CECB8F,
  0x3FF306FE0A31B715, 0x3C834D754DB0ABB6, 0x3FF32170FC4CD831, 0x3C864201E2AC744C,
  0x3FF33C08B26416FF, 0x3C8FDD395DD3F84A, 0x3FF356C55F929FF1, 0xBC86A3803B8E5B04,
  0x3FF371A7373AA9CB, 0xBC924AEDCC4B5068, 0x3FF38CAE6D05D866, 0xBC9907F81B512D8E,
  0x3FF3A7DB34E59FF7, 0xBC71D1E83E9436D2, 0x3FF3C32DC313A8E5, 0xBC991919B3CE1B15,
  0x3FF3DEA64C123422, 0x3C859F48A72A4C6D, 0x3FF3FA4504AC801C, 0xBC9312607A28698A,
  0x3FF4160A21F72E2A, 0xBC58A78F4817895B, 0x3FF431F5D950A897, 0xBC7C2C9B67499A1B,
  0x3FF44E086061892D, 0x3C4363ED60C2AC11, 0x3FF46A41ED1D0057, 0x3C9666093B0664EF,
  0x3FF486A2B5C13CD0, 0x3C6ECCE1DAA10379, 0x3FF4A32AF0D7D3DE, 0x3C93FF8E3F0F1230,
  0x3FF4BFDAD5362A27, 0x3C7690CEBB7AAFB0, 0x3FF4DCB299FDDD0D, 0x3C931DBDEB54E077,
  0x3FF4F9B2769D2CA7, 0xBC8F94340071A38E, 0x3FF516DAA2CF6642, 0xBC87DECCDC93A349,
  0x3FF5342B569D4F82, 0xBC78DEC6BD0F385F, 0x3FF551A4CA5D920F, 0xBC861246EC7B5CF6,
  0x3FF56F4736B527DA, 0x3C93350518FDD78E, 0x3FF58D12D497C7FD, 0x3C7B98B72F8A9B05,
  0x3FF5AB07DD485429, 0x3C9063E1E21C5409, 0x3FF5C9268A5946B7, 0x3C34C7855019C6EA,
  0x3FF5E76F15AD2148, 0x3C9432E62B64C035, 0x3FF605E1B976DC09, 0xBC8CE44A6199769F,
  0x3FF6247EB03A5585, 0xBC8C33C53BEF4DA8, 0x3FF6434634CCC320, 0xBC845378892BE9AE,
  0x3FF6623882552225, 0xBC93CEDD78565858, 0x3FF68155D44CA973, 0x3C5710AA807E1964,
  0x3FF6A09E667F3BCD, 0xBC93B3EFBF5E2228, 0x3FF6C012750BDABF, 0xBC6A12AD8734B982,
  0x3FF6DFB23C651A2F, 0xBC6367EFB86DA9EE, 0x3FF6FF7DF9519484, 0xBC80DC3D54E08851,
  0x3FF71F75E8EC5F74, 0xBC781F647E5A3ECF, 0x3FF73F9A48A58174, 0xBC86EE4AC08B7DB0,
  0x3FF75FEB564267C9, 0xBC8619321E55E68A, 0x3FF780694FDE5D3F, 0x3C909CCB5E09D4D3,
  0x3FF7A11473EB0187, 0xBC7B32DCB94DA51D, 0x3FF7C1ED0130C132, 0x3C94ECFD5467C06B,
  0x3FF7E2F336CF4E62, 0x3C65EBE1ABD66C55, 0x3FF80427543E1A12, 0xBC88A1C52FB3CF42,
  0x3FF82589994CCE13, 0xBC9369B6F13B3734, 0x3FF8471A4623C7AD, 0xBC805E843A19FF1E,
  0x3FF868D99B4492ED, 0xBC94D450D872576E, 0x3FF88AC7D98A6699, 0x3C90AD675B0E8A00,
  0x3FF8ACE5422AA0DB, 0x3C8DB72FC1F0EAB4, 0x3FF8CF3216B5448C, 0xBC65B6609CC5E7FF,
  0x3FF8F1AE99157736, 0x3C7BF68359F35F44, 0x3FF9145B0B91FFC6, 0xBC93091FA71E3D83,
  0x3FF93737B0CDC5E5, 0xBC5DA9B88B6C1E29, 0x3FF95A44CBC8520F, 0xBC6C23F97C90B959,
  0x3FF97D829FDE4E50, 0xBC92434322F4F9AA, 0x3FF9A0F170CA07BA, 0xBC85CA6CD7668E4B,
  0x3FF9C49182A3F090, 0x3C71AFFC2B91CE27, 0x3FF9E86319E32323, 0x3C6DD235E10A73BB,
  0x3FFA0C667B5DE565, 0xBC87C50422622263, 0x3FFA309BEC4A2D33, 0x3C8B1C86E3E231D5,
  0x3FFA5503B23E255D, 0xBC91BBD1D3BCBB15, 0x3FFA799E1330B358, 0x3C90CC319CEE31D2,
  0x3FFA9E6B5579FDBF, 0x3C8469846E735AB3, 0x3FFAC36BBFD3F37A, 0xBC82DFCD978E9DB4,
  0x3FFAE89F995AD3AD, 0x3C8C1A7792CB3387, 0x3FFB0E07298DB666, 0xBC907B8F4AD1D9FA,
  0x3FFB33A2B84F15FB, 0xBC55C3D956DCAEBA, 0x3FFB59728DE5593A, 0xBC90A40E3DA6F640,
  0x3FFB7F76F2FB5E47, 0xBC68D6F438AD9334, 0x3FFBA5B030A1064A, 0xBC91EEE26B588A35,
  0x3FFBCC1E904BC1D2, 0x3C74FFD70A5FDDCD, 0x3FFBF2C25BD71E09, 0xBC91BDFBFA9298AC,
  0x3FFC199BDD85529C, 0x3C736EAE30AF0CB3, 0x3FFC40AB5FFFD07A, 0x3C8EE3325C9FFD94,
  0x3FFC67F12E57D14B, 0x3C84E08FD10959AC, 0x3FFC8F6D9406E7B5, 0x3C63CDAF384E1A67,
  0x3FFCB720DCEF9069, 0x3C676B2C6C921968, 0x3FFCDF0B555DC3FA, 0xBC808A1883CCB5D2,
  0x3FFD072D4A07897C, 0xBC8FAD5D3FFFFA6F, 0x3FFD2F87080D89F2, 0xBC900DAE3875A949,
  0x3FFD5818DCFBA487, 0x3C74A385A63D07A7, 0x3FFD80E316C98398, 0xBC82919E2040220F,
  0x3FFDA9E603DB3285, 0x3C8E5A50D5C192AC, 0x3FFDD321F301B460, 0x3C843A59AC016B4B,
  0x3FFDFC97337B9B5F, 0xBC82D52107B43E1F, 0x3FFE264614F5A129, 0xBC892AB93B470DC9,
  0x3FFE502EE78B3FF6, 0x3C74B604603A88D3, 0x3FFE7A51FBC74C83, 0x3C83C5EC519D7271,
  0x3FFEA4AFA2A490DA, 0xBC8FF7128FD391F0, 0x3FFECF482D8E67F1, 0xBC8DAE98E223747D,
  0x3FFEFA1BEE615A27, 0x3C8EC3BC41AA2008, 0x3FFF252B376BBA97, 0x3C842B94C3A9EB32,
  0x3FFF50765B6E4540, 0x3C8A64A931D185EE, 0x3FFF7BFDAD9CBE14, 0xBC8E37BAE43BE3ED,
  0x3FFFA7C1819E90D8, 0x3C77893B4D91CD9D, 0x3FFFD3C22B8F71F1, 0x3C5305C14160CC89,
], 16);

const INV_LN2_128: usize = memory.data<u64>([0x40671547652B82FE, 0x40671547652B82FE], 16); // 128/ln2
const LN2_HI_128: usize = memory.data<u64>([0x3F762E42FEE00000, 0x3F762E42FEE00000], 16); // 32 bits: exact products
const LN2_LO_128: usize = memory.data<u64>([0x3D7A39EF35793C76, 0x3D7A39EF35793C76], 16);
const ROW_MASK: usize = memory.data<u64>([127, 127], 16);
export const EXPONENT_FIELD_MASK: usize = memory.data<u64>([0xFFF0000000000000, 0xFFF0000000000000], 16);
const E2: usize = memory.data<f64>([1.0 / 2.0, 1.0 / 2.0], 16);
const E3: usize = memory.data<f64>([1.0 / 6.0, 1.0 / 6.0], 16);
const E4: usize = memory.data<f64>([1.0 / 24.0, 1.0 / 24.0], 16);
const E5: usize = memory.data<f64>([1.0 / 120.0, 1.0 / 120.0], 16);
const E6: usize = memory.data<f64>([1.0 / 720.0, 1.0 / 720.0], 16);
const EXP_FAST_LIMIT: usize = memory.data<f64>([708.0, 708.0], 16);
const EXP_CLAMP_HI: usize = memory.data<f64>([710.0, 710.0], 16);
const EXP_CLAMP_LO: usize = memory.data<f64>([-746.0, -746.0], 16);
const EXP_OVERFLOW: usize = memory.data<u64>([0x40862E42FEFA39EF, 0x40862E42FEFA39EF], 16); // 709.782712893384
const EXP_UNDERFLOW: usize = memory.data<u64>([0xC0874910D52D3051, 0xC0874910D52D3051], 16); // -745.1332191019411
const ONE_128TH: usize = memory.data<f64>([1.0 / 128.0, 1.0 / 128.0], 16);
// 2^1023 + 2^1022-ish minus d's bits is 1/d within 13% (the classic reciprocal bit trick).
const RECIP_MAGIC: usize = memory.data<u64>([0x7FDE623822FC16E6, 0x7FDE623822FC16E6], 16);
const TWENTY_TWO: usize = memory.data<f64>([22.0, 22.0], 16);

/** 16 bytes at `at` in the table row of lane 0 (rowOf0) or lane 1 (rowOf1), `offsets` holding
 *  the rows' byte offsets in i64 lanes. i64x2.shuffle(row0, row1, 0, 2) and (1, 3) then give
 *  the row's two fields for both lanes. */
@inline export function rowOf0(table: usize, offsets: v128, at: usize): v128 {
  return v128.load(table + <usize>i32x4.extract_lane(offsets, 0) + at);
}
@inline export function rowOf1(table: usize, offsets: v128, at: usize): v128 {
  return v128.load(table + <usize>i32x4.extract_lane(offsets, 2) + at);
}

/** MAGIC + round(128 x / ln2): the low bits hold 128 k + j. */
@inline function expIndex(x: v128): v128 { return add(mul(x, K(INV_LN2_128)), K(MAGIC)); }

/** Byte offset of row j in EXP_TABLE. */
@inline function expRow(kb: v128): v128 { return i64x2.shl(v128.and(kb, K(ROW_MASK)), 4); }

/** 2^k in the exponent field: added to Th's bits it scales by 2^k while that stays normal. */
@inline function expShift(kb: v128): v128 { return v128.and(i64x2.shl(kb, 45), K(EXPONENT_FIELD_MASK)); }

/** e^r - 1 - r, degree 5 (exp) or 6 (expm1, where it must stay accurate relative to r). */
@inline function expPolyQ(r: v128, degree6: bool): v128 {
  const r2 = mul(r, r);
  const high = degree6 ? add(add(K(E4), mul(r, K(E5))), mul(r2, K(E6))) : add(K(E4), mul(r, K(E5)));
  return add(mul(r2, add(K(E2), mul(r, K(E3)))), mul(mul(r2, r2), high)); // Estrin: short chain
}

/** x - (128 k + j) ln2/128 with the two-part constant. */
@inline function expReduce(x: v128, kf: v128): v128 {
  return sub(sub(x, mul(kf, K(LN2_HI_128))), mul(kf, K(LN2_LO_128)));
}

/**
 * e^x (see above). Vectors with a lane beyond +-708 take expWide, which scales in two exact
 * steps so overflow and subnormal results are rounded once more at most. Overflow above
 * 709.782712893384, zero below -745.1332191019411, NaN propagates. Error < 0.52 ulp
 * (subnormal results: < 0.5 ulp + 2^-53 relative; measured 0.502 against exact values), so
 * <= 1 ulp from Math.exp, whose fdlibm algorithm reaches 0.76 ulp.
 */
@inline export function expLanes(x: v128): v128 {
  if (v128.any_true(f64x2.gt(f64x2.abs(x), K(EXP_FAST_LIMIT)))) return expWide(x);
  const kb = expIndex(x);
  const r = expReduce(x, sub(kb, K(MAGIC)));
  const row = expRow(kb);
  const row0 = rowOf0(EXP_TABLE, row, 0);
  const row1 = rowOf1(EXP_TABLE, row, 0);
  const scale = i64x2.add(i64x2.shuffle(row0, row1, 0, 2), expShift(kb));
  const tmp = add(i64x2.shuffle(row0, row1, 1, 3), add(r, expPolyQ(r, false)));
  return add(scale, mul(scale, tmp));
}

/** exp for vectors with a lane beyond +-708: clamped so k stays small, scaled in two steps. */
function expWide(x: v128): v128 {
  const xc = f64x2.pmax(f64x2.pmin(x, K(EXP_CLAMP_HI)), K(EXP_CLAMP_LO));
  const kb = expIndex(xc);
  const kf = sub(kb, K(MAGIC));
  const r = expReduce(xc, kf);
  const row = expRow(kb);
  const row0 = rowOf0(EXP_TABLE, row, 0);
  const row1 = rowOf1(EXP_TABLE, row, 0);
  const k = f64x2.floor(mul(kf, K(ONE_128TH)));
  const k1 = f64x2.floor(mul(k, K(HALF)));
  const scale = mul(i64x2.shuffle(row0, row1, 0, 2), pow2(k1));
  const tmp = add(i64x2.shuffle(row0, row1, 1, 3), add(r, expPolyQ(r, false)));
  let y = mul(add(scale, mul(scale, tmp)), pow2(sub(k, k1)));
  y = sel(K(INF), y, f64x2.gt(x, K(EXP_OVERFLOW)));
  return v128.andnot(y, f64x2.lt(x, K(EXP_UNDERFLOW)));
}

/**
 * e^y - 1 for y in [0, 45] (what tanh needs), without cancellation. With S = 2^k Th >= 1
 * (S - 1 exact), p = e^r - 1 = r + q and dr the rounding error of r:
 *   e^y - 1 = ((S - 1) + r) + [(S - 1) r + S (q + dr + tail (1 + r))],
 * the first sum split exactly (Fast2Sum: |S - 1| >= |r| unless S = 1) and the bracket
 * < 2^-7 of the result, so one final rounding dominates: error < 0.52 ulp.
 */
@inline function expm1Positive(y: v128): v128 {
  const kb = expIndex(y);
  const kf = sub(kb, K(MAGIC));
  const rh = sub(y, mul(kf, K(LN2_HI_128))); // exact
  const kl = mul(kf, K(LN2_LO_128));
  const r = sub(rh, kl);
  const dr = sub(sub(rh, r), kl);
  const row = expRow(kb);
  const row0 = rowOf0(EXP_TABLE, row, 0);
  const row1 = rowOf1(EXP_TABLE, row, 0);
  const s = i64x2.add(i64x2.shuffle(row0, row1, 0, 2), expShift(kb));
  const tail = i64x2.shuffle(row0, row1, 1, 3);
  const sm1 = sub(s, K(ONE));
  const hi = add(sm1, r);
  const lo = add(sub(sm1, hi), r);
  const q = expPolyQ(r, true);
  const small = add(add(mul(sm1, r), mul(s, add(dr, add(tail, mul(tail, r))))), mul(s, q));
  return add(hi, add(lo, small));
}

/**
 * e^x - 1 on the whole line: expm1Positive on [-0.5, 45] (there S = 2^k Th >= 0.6, so S - 1 is
 * exact by Sterbenz and its argument holds for negative x too; at |x| < ln2/256, S = 1 and the
 * result is r + q with r = x exactly, so tiny x keep full relative precision), e^x - 1 below
 * -0.5 (the result is in [-1, -0.39]: no cancellation) and e^x above 45 (where e^x - 1 rounds
 * to e^x). NaN propagates, zeros keep their sign, -Infinity gives -1, overflow Infinity.
 * Measured within 1 ulp of Math.expm1 on 1e5-point sweeps (test/kernels-elementwise.test.ts).
 */
@inline export function expm1Lanes(x: v128): v128 {
  // r + q loses the sign of -0: zeros are returned as they are.
  const mid = sel(x, expm1Positive(f64x2.pmax(f64x2.pmin(x, F(45.0)), F(-0.5))), f64x2.eq(x, F(0.0)));
  const below = f64x2.lt(x, F(-0.5));
  const above = f64x2.gt(x, F(45.0));
  if (!v128.any_true(v128.or(below, above))) return mid;
  const e = expLanes(x);
  return sel(sub(e, K(ONE)), sel(e, mid, above), below);
}

/**
 * tanh x from t = expm1(2|x|): t / (t + 2) for |x| < 1 (no cancellation, tanh x ~ x stays
 * accurate down to subnormals), 1 - 2 / (t + 2) for 1 <= |x| < 22, +-1 beyond; odd symmetry
 * gives the sign. t + 2 is kept exact to first order (TwoSum) and the quotient corrected with
 * 1/d = (1 - q)/2 or q/2, so there is one division. Error < 1.6 ulp; measured <= 2 ulp from
 * Math.tanh, whose own error reaches 1.8 ulp.
 */
@inline export function tanhLanes(x: v128): v128 {
  const ax = f64x2.pmin(f64x2.abs(x), K(TWENTY_TWO)); // tanh is 1 from 22 on; NaN stays NaN
  const below1 = f64x2.lt(ax, K(ONE));
  const t = expm1Positive(add(ax, ax));
  const d = add(t, K(TWO));
  const dt = sub(d, t);
  const dd = add(sub(t, sub(d, dt)), sub(K(TWO), dt)); // d + dd = t + 2 exactly (TwoSum)
  // The correction q0 dd / d needs only a few bits of 1/d: a bit-pattern reciprocal (within
  // 13%) computed beside the division keeps it off the critical path.
  const ddOverD = mul(dd, i64x2.sub(K(RECIP_MAGIC), d));
  const q0 = div(sel(t, K(TWO), below1), d);
  const q = sub(q0, mul(q0, ddOverD));
  const z = v128.xor(sel(q, sub(K(ONE), q), below1), signOf(x));
  return sel(x, z, f64x2.lt(ax, K(TINY_28))); // |x| < 2^-28: tanh x rounds to x
}

/**
 * 1 / (1 + e^-x), evaluated as 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0 with
 * e = e^-|x|, so nothing overflows and tiny results keep full relative precision (down to
 * subnormals near x = -745); 1 + e is kept exact to first order. Error < 1.5 ulp (exp's
 * 0.51 ulp, one division; measured 1.48 against exact values, the JS formula 1.73); <= 2 ulp
 * from that formula with Math.exp.
 */
@inline export function sigmoidLanes(x: v128): v128 {
  const e = expLanes(f64x2.neg(f64x2.abs(x)));
  const positive = f64x2.ge(x, F(0.0));
  // d + dd = 1 + e exactly (Fast2Sum, e <= 1); the quotient is corrected to first order in
  // dd with 1/d = q (numerator 1) or 1 - q (numerator e).
  const d = add(K(ONE), e);
  const dd = add(sub(K(ONE), d), e);
  const q = div(sel(K(ONE), e, positive), d);
  return sub(q, mul(mul(q, dd), sel(q, sub(K(ONE), q), positive)));
}
