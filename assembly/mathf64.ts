// Vectorised f64 transcendentals: each function maps both f64x2 lanes at once, without
// branches except the per-lane scalar fallback of the trigonometric functions for huge |x|.
//
// Method: the fdlibm algorithms (Sun, 1993) that V8 uses for Math.exp/log/sin/cos/tan/tanh/
// pow, re-derived as straight-line SIMD. Every data-dependent branch of the scalar code is
// evaluated on both lanes and chosen with a bitselect, so each lane follows exactly the
// operation sequence of the scalar algorithm. Wasm float arithmetic is IEEE without fused
// multiply-add, so a lane's result equals the scalar fdlibm result bit for bit; the error
// against the true value is fdlibm's (< 1 ulp). Measured against Node's Math.* on 1e5-point
// sweeps per range (test/kernels-elementwise.test.ts): exp, log, tanh, sigmoid, pow 0 ulp;
// sin, cos, tan 1 ulp where V8 reduces huge arguments differently (the fallback lanes).
// Coefficients are fdlibm's minimax values, quoted by bit pattern.

// ---- lane helpers ------------------------------------------------------------------------

// Vector constants live in static memory, two equal lanes each, and are read with K():
// V8 rebuilds a v128.const inside a loop with 3-4 instructions at every use, a load is one
// (1.5x on exp). Zero vectors stay literal: V8 makes those with a single xor.
@inline function K(at: usize): v128 { return v128.load(at); }
const ONE: usize = memory.data<f64>([1.0, 1.0], 16);
const HALF: usize = memory.data<f64>([0.5, 0.5], 16);
const TWO: usize = memory.data<f64>([2.0, 2.0], 16);
const THREE: usize = memory.data<f64>([3.0, 3.0], 16);
const MINUS_ONE: usize = memory.data<f64>([-1.0, -1.0], 16);
const INF: usize = memory.data<f64>([Infinity, Infinity], 16);
const MINUS_INF: usize = memory.data<f64>([-Infinity, -Infinity], 16);
const NAN: usize = memory.data<f64>([NaN, NaN], 16);
const MAGIC: usize = memory.data<f64>([6755399441055744.0, 6755399441055744.0], 16);
const MAGIC_PLUS_ONE: usize = memory.data<f64>([6755399441055745.0, 6755399441055745.0], 16);
const MIN_NORMAL: usize = memory.data<f64>([2.2250738585072014e-308, 2.2250738585072014e-308], 16);
const SIGN: usize = memory.data<u64>([0x8000000000000000, 0x8000000000000000], 16);
const HIGH_WORD: usize = memory.data<u64>([0xFFFFFFFF00000000, 0xFFFFFFFF00000000], 16);
const EXP_BIAS: usize = memory.data<u64>([1023, 1023], 16);
const TINY_28: usize = memory.data<u64>([0x3E30000000000000, 0x3E30000000000000], 16);

@inline function F(x: f64): v128 { return f64x2.splat(x); }
@inline function I(x: i64): v128 { return i64x2.splat(x); }
/** The double whose high word is `h` and low word 0: fdlibm states its thresholds this way. */
@inline function hw(h: i64): f64 { return reinterpret<f64>(h << 32); }
@inline function add(a: v128, b: v128): v128 { return f64x2.add(a, b); }
@inline function sub(a: v128, b: v128): v128 { return f64x2.sub(a, b); }
@inline function mul(a: v128, b: v128): v128 { return f64x2.mul(a, b); }
@inline function div(a: v128, b: v128): v128 { return f64x2.div(a, b); }
/** c0 + t (c1 + t (c2 + ...)): Horner, the evaluation order fdlibm uses. */
@inline function poly2(t: v128, c0: usize, c1: usize): v128 { return add(K(c0), mul(t, K(c1))); }
@inline function poly3(t: v128, c0: usize, c1: usize, c2: usize): v128 { return add(K(c0), mul(t, poly2(t, c1, c2))); }
@inline function poly4(t: v128, c0: usize, c1: usize, c2: usize, c3: usize): v128 { return add(K(c0), mul(t, poly3(t, c1, c2, c3))); }
@inline function poly5(t: v128, c0: usize, c1: usize, c2: usize, c3: usize, c4: usize): v128 {
  return add(K(c0), mul(t, poly4(t, c1, c2, c3, c4)));
}
@inline function poly6(t: v128, c0: usize, c1: usize, c2: usize, c3: usize, c4: usize, c5: usize): v128 {
  return add(K(c0), mul(t, poly5(t, c1, c2, c3, c4, c5)));
}
@inline function sel(ifTrue: v128, ifFalse: v128, mask: v128): v128 { return v128.bitselect(ifTrue, ifFalse, mask); }
@inline function signOf(x: v128): v128 { return v128.and(x, K(SIGN)); }
/** fdlibm's SET_LOW_WORD(x, 0): keeps 21 significant bits so products of two are exact. */
@inline function clearLow(x: v128): v128 { return v128.and(x, K(HIGH_WORD)); }

// Adding 1.5 * 2^52 to an integer-valued double |k| < 2^51 leaves k in the low mantissa bits.

/** 2^k for integer-valued k in [-1022, 1023], built from the exponent bits. */
@inline function pow2(k: v128): v128 {
  return i64x2.shl(i64x2.add(add(k, K(MAGIC)), K(EXP_BIAS)), 52);
}

/** y * 2^k for integer k in [-1100, 1100] with a single rounding: two exact half steps,
 *  so a subnormal or overflowing result is rounded once, like fdlibm's scalbn. */
@inline function scale(y: v128, k: v128): v128 {
  const k1 = f64x2.floor(mul(k, K(HALF)));
  return mul(mul(y, pow2(k1)), pow2(sub(k, k1)));
}

const LN2_HI: usize = memory.data<u64>([0x3FE62E42FEE00000, 0x3FE62E42FEE00000], 16); // 32 bits: k * LN2_HI is exact
const LN2_LO: usize = memory.data<u64>([0x3DEA39EF35793C76, 0x3DEA39EF35793C76], 16);

// ---- exp, expm1, tanh, sigmoid ----------------------------------------------------------
//
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
const EXPONENT_FIELD_MASK: usize = memory.data<u64>([0xFFF0000000000000, 0xFFF0000000000000], 16);
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
const TWENTY_TWO: usize = memory.data<f64>([22.0, 22.0], 16);

/** 16 bytes at `at` in the table row of lane 0 (rowOf0) or lane 1 (rowOf1), `offsets` holding
 *  the rows' byte offsets in i64 lanes. i64x2.shuffle(row0, row1, 0, 2) and (1, 3) then give
 *  the row's two fields for both lanes. */
@inline function rowOf0(table: usize, offsets: v128, at: usize): v128 {
  return v128.load(table + <usize>i32x4.extract_lane(offsets, 0) + at);
}
@inline function rowOf1(table: usize, offsets: v128, at: usize): v128 {
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
  return mul(r2, add(add(K(E2), mul(r, K(E3))), mul(r2, high)));
}

/** x - (128 k + j) ln2/128 with the two-part constant. */
@inline function expReduce(x: v128, kf: v128): v128 {
  return sub(sub(x, mul(kf, K(LN2_HI_128))), mul(kf, K(LN2_LO_128)));
}

/**
 * e^x (see above). Vectors with a lane beyond +-708 take expWide, which scales in two exact
 * steps so overflow and subnormal results are rounded once more at most. Overflow above
 * 709.782712893384, zero below -745.1332191019411, NaN propagates. Error < 0.52 ulp
 * (subnormal results: < 0.5 ulp + 2^-53 relative); measured <= 1 ulp from Math.exp.
 */
@inline function expLanes(x: v128): v128 {
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
  const small = add(mul(sm1, r), mul(s, add(add(q, dr), add(tail, mul(tail, r)))));
  return add(hi, add(lo, small));
}

/**
 * tanh x from t = expm1(2|x|): t / (t + 2) for |x| < 1 (no cancellation, tanh x ~ x stays
 * accurate down to subnormals), 1 - 2 / (t + 2) for 1 <= |x| < 22, +-1 beyond; odd symmetry
 * gives the sign. Error < 2 ulp by analysis (t < 1 ulp, damped by 2 / (t + 2), plus two
 * roundings); measured <= 1 ulp from Math.tanh.
 */
@inline function tanhLanes(x: v128): v128 {
  const ax = f64x2.abs(x);
  const below1 = f64x2.lt(ax, K(ONE));
  const t = expm1Positive(add(ax, ax));
  // q = n / (t + 2) with n = t or 2; d + dd = t + 2 exactly (TwoSum), and the quotient is
  // corrected to first order in dd using 1/d = (1 - q)/2 or q/2, so no second division.
  const d = add(t, K(TWO));
  const dt = sub(d, t);
  const dd = add(sub(t, sub(d, dt)), sub(K(TWO), dt));
  const q0 = div(sel(t, K(TWO), below1), d);
  const invD = mul(sel(sub(K(ONE), q0), q0, below1), K(HALF));
  const q = sub(q0, mul(mul(q0, dd), invD));
  let z = sel(q, sub(K(ONE), q), below1);
  z = sel(K(ONE), z, f64x2.ge(ax, K(TWENTY_TWO)));
  z = v128.xor(z, signOf(x));
  return sel(x, z, f64x2.lt(ax, K(TINY_28))); // |x| < 2^-28: tanh x rounds to x
}

/**
 * 1 / (1 + e^-x), evaluated as 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0 with
 * e = e^-|x|, so nothing overflows and tiny results keep full relative precision (down to
 * subnormals near x = -745); 1 + e is kept exact to first order. Error < 1.1 ulp (exp's 0.51
 * damped by 1 / (1 + e), one division).
 */
@inline function sigmoidLanes(x: v128): v128 {
  const e = expLanes(f64x2.neg(f64x2.abs(x)));
  const positive = f64x2.ge(x, F(0.0));
  // d + dd = 1 + e exactly (Fast2Sum, e <= 1); the quotient is corrected to first order in
  // dd with 1/d = q (numerator 1) or 1 - q (numerator e).
  const d = add(K(ONE), e);
  const dd = add(sub(K(ONE), d), e);
  const q = div(sel(K(ONE), e, positive), d);
  return sub(q, mul(mul(q, dd), sel(q, sub(K(ONE), q), positive)));
}

// ---- log ---------------------------------------------------------------------------------
//
// x = 2^k z with z in [OFF, 2 OFF), OFF = 0.705078125; z's cell j (128 cells of 2^45 in the
// bit pattern, one centred on 1.0) has centre c, so r = (z - c) / c = (z - c) invc with
// z - c exact and |r| <= 2^-8; ln x = k ln2 + ln c + ln(1 + r). k LN2_HI + logc_hi is exact
// (both on a 2^-43 grid), r is added with its rounding error kept, and ln(1 + r) - r is a
// degree-7 Taylor polynomial (omitted terms < 2^-59 relative). No division; one final
// rounding: error < 0.52 ulp. Near x = 1 the cell centre is 1 itself, so ln x = r + p there.

const LOG_OFF: usize = memory.data<u64>([0x3FE6900000000000, 0x3FE6900000000000], 16);
const LOG_CELL: usize = memory.data<u64>([0x000FE00000000000, 0x000FE00000000000], 16);
const TWO_62: usize = memory.data<u64>([0x4000000000000000, 0x4000000000000000], 16);
const LOG_K_BIAS: usize = memory.data<u64>([0x4338000000000000 - 1024, 0x4338000000000000 - 1024], 16);
const A2: usize = memory.data<f64>([-1.0 / 2.0, -1.0 / 2.0], 16);
const A3: usize = memory.data<f64>([1.0 / 3.0, 1.0 / 3.0], 16);
const A4: usize = memory.data<f64>([-1.0 / 4.0, -1.0 / 4.0], 16);
const A5: usize = memory.data<f64>([1.0 / 5.0, 1.0 / 5.0], 16);
const A6: usize = memory.data<f64>([-1.0 / 6.0, -1.0 / 6.0], 16);
const A7: usize = memory.data<f64>([1.0 / 7.0, 1.0 / 7.0], 16);
const TWO_54: usize = memory.data<f64>([18014398509481984.0, 18014398509481984.0], 16);
const INT_54: usize = memory.data<u64>([54, 54], 16);

// Cell j, 32 bytes: 1/c rounded, ln c split as a multiple of 2^-43 plus the rest, and c.
const LOG_TABLE: usize = memory.data<u64>([
  0x3FF6A13CD1537290, 0xBFD630030B3AB000, 0x3D2DB623E731AE00, 0x3FE6A00000000000,
  0x3FF6816816816817, 0xBFD5D5BDDF596000, 0x3D0A0B2A08A465DC, 0x3FE6C00000000000,
  0x3FF661EC6A5122F9, 0xBFD57BF753C8D000, 0xBD1FADEDEE5D40EF, 0x3FE6E00000000000,
  0x3FF642C8590B2164, 0xBFD522AE0738A000, 0xBD2EBE708164C759, 0x3FE7000000000000,
  0x3FF623FA77016240, 0xBFD4C9E09E173000, 0x3D2E20891B0AD8A4, 0x3FE7200000000000,
  0x3FF6058160581606, 0xBFD4718DC271C800, 0x3D2F27CE0967D675, 0x3FE7400000000000,
  0x3FF5E75BB8D015E7, 0xBFD419B423D5E800, 0xBD08E436EC90E09D, 0x3FE7600000000000,
  0x3FF5C9882B931057, 0xBFD3C25277333000, 0xBD183B54B606BD5C, 0x3FE7800000000000,
  0x3FF5AC056B015AC0, 0xBFD36B6776BE1000, 0xBD116ECDB0F177C8, 0x3FE7A00000000000,
  0x3FF58ED2308158ED, 0xBFD314F1E1D36000, 0x3D28E27AD3213CB8, 0x3FE7C00000000000,
  0x3FF571ED3C506B3A, 0xBFD2BEF07CDC9000, 0xBD2A9CFA4A5004F4, 0x3FE7E00000000000,
  0x3FF5555555555555, 0xBFD269621134D800, 0xBD2C93C1DF5BB3B6, 0x3FE8000000000000,
  0x3FF5390948F40FEB, 0xBFD214456D0EB800, 0xBD0A87DEBA46BAEA, 0x3FE8200000000000,
  0x3FF51D07EAE2F815, 0xBFD1BF99635A6800, 0xBD2CA6ED5147BDB7, 0x3FE8400000000000,
  0x3FF5015015015015, 0xBFD16B5CCBACF800, 0xBD2B9ACDF7A51681, 0x3FE8600000000000,
  0x3FF4E5E0A72F0539, 0xBFD1178E8227E800, 0x3D2C210E63A5F01C, 0x3FE8800000000000,
  0x3FF4CAB88725AF6E, 0xBFD0C42D67616000, 0xBD27188B163CEAE9, 0x3FE8A00000000000,
  0x3FF4AFD6A052BF5B, 0xBFD07138604D5800, 0xBCF89CDB16ED4E91, 0x3FE8C00000000000,
  0x3FF49539E3B2D067, 0xBFD01EAE5626C800, 0x3D16F08C1485E94A, 0x3FE8E00000000000,
  0x3FF47AE147AE147B, 0xBFCF991C6CB3B000, 0xBD1BCBECCA0CDF30, 0x3FE9000000000000,
  0x3FF460CBC7F5CF9A, 0xBFCEF5ADE4DD0000, 0x3CCA211565BB8E11, 0x3FE9200000000000,
  0x3FF446F86562D9FB, 0xBFCE530EFFE71000, 0xBCC212276041F430, 0x3FE9400000000000,
  0x3FF42D6625D51F87, 0xBFCDB13DB0D49000, 0x3D2AFF2AF715B035, 0x3FE9600000000000,
  0x3FF4141414141414, 0xBFCD1037F2656000, 0x3D084A7E75B6F6E4, 0x3FE9800000000000,
  0x3FF3FB013FB013FB, 0xBFCC6FFBC6F01000, 0x3CF1EC72C5962BD2, 0x3FE9A00000000000,
  0x3FF3E22CBCE4A902, 0xBFCBD087383BE000, 0x3D2D4BC4595412B6, 0x3FE9C00000000000,
  0x3FF3C995A47BABE7, 0xBFCB31D8575BD000, 0x3D0C358D4EACE1AA, 0x3FE9E00000000000,
  0x3FF3B13B13B13B14, 0xBFCA93ED3C8AE000, 0x3D28724350562169, 0x3FEA000000000000,
  0x3FF3991C2C187F63, 0xBFC9F6C407089000, 0xBD29904D6865817A, 0x3FEA200000000000,
  0x3FF3813813813814, 0xBFC95A5ADCF70000, 0xBD07F22858A0FF6F, 0x3FEA400000000000,
  0x3FF3698DF3DE0748, 0xBFC8BEAFEB390000, 0x3D073D54AAE92CD1, 0x3FEA600000000000,
  0x3FF3521CFB2B78C1, 0xBFC823C16551A000, 0xBD1E0DDB9A631E83, 0x3FEA800000000000,
  0x3FF33AE45B57BCB2, 0xBFC7898D85445000, 0x3D1C661070914305, 0x3FEAA00000000000,
  0x3FF323E34A2B10BF, 0xBFC6F0128B757000, 0x3D25118DE59C21E1, 0x3FEAC00000000000,
  0x3FF30D190130D190, 0xBFC6574EBE8C1000, 0xBD19CF8B2C3C2E78, 0x3FEAE00000000000,
  0x3FF2F684BDA12F68, 0xBFC5BF406B544000, 0x3D127023EB68981C, 0x3FEB000000000000,
  0x3FF2E025C04B8097, 0xBFC527E5E4A1B000, 0xBD2633E8E5697DC7, 0x3FEB200000000000,
  0x3FF2C9FB4D812CA0, 0xBFC4913D8333B000, 0xBD25837954FDB678, 0x3FEB400000000000,
  0x3FF2B404AD012B40, 0xBFC3FB45A5993000, 0x3D2CD1D87E6A354D, 0x3FEB600000000000,
  0x3FF29E4129E4129E, 0xBFC365FCB0159000, 0xBCC62FA8234B7289, 0x3FEB800000000000,
  0x3FF288B01288B013, 0xBFC2D1610C868000, 0xBD039D6CCB81B4A1, 0x3FEBA00000000000,
  0x3FF27350B8812735, 0xBFC23D712A49C000, 0xBD100D238FD3DF5C, 0x3FEBC00000000000,
  0x3FF25E22708092F1, 0xBFC1AA2B7E23F000, 0xBD2CA78E44389934, 0x3FEBE00000000000,
  0x3FF2492492492492, 0xBFC1178E8227E000, 0xBD21EF78CE2D07F2, 0x3FEC000000000000,
  0x3FF23456789ABCDF, 0xBFC08598B59E4000, 0x3D27E5DD7009902C, 0x3FEC200000000000,
  0x3FF21FB78121FB78, 0xBFBFE89139DBE000, 0x3D2534D64FA10AFD, 0x3FEC400000000000,
  0x3FF20B470C67C0D9, 0xBFBEC739830A2000, 0x3D2DC068AFE645E0, 0x3FEC600000000000,
  0x3FF1F7047DC11F70, 0xBFBDA72763844000, 0xBD1A89401FA71733, 0x3FEC800000000000,
  0x3FF1E2EF3B3FB874, 0xBFBC885801BC4000, 0xBD2646D1C65AACD3, 0x3FECA00000000000,
  0x3FF1CF06ADA2811D, 0xBFBB6AC88DAD6000, 0x3D1390802BF768E5, 0x3FECC00000000000,
  0x3FF1BB4A4046ED29, 0xBFBA4E7640B1C000, 0x3D0E42B6B94407C8, 0x3FECE00000000000,
  0x3FF1A7B9611A7B96, 0xBFB9335E5D594000, 0xBD23115C3ABD47DA, 0x3FED000000000000,
  0x3FF19453808CA29C, 0xBFB8197E2F40E000, 0xBD0F80DCF96FFDF7, 0x3FED200000000000,
  0x3FF1811811811812, 0xBFB700D30AEAC000, 0xBCEC1E8DA99DED32, 0x3FED400000000000,
  0x3FF16E0689427379, 0xBFB5E95A4D97A000, 0x3D2C69063C5D1D1E, 0x3FED600000000000,
  0x3FF15B1E5F75270D, 0xBFB4D3115D208000, 0x3CF53A2582F4E1EF, 0x3FED800000000000,
  0x3FF1485F0E0ACD3B, 0xBFB3BDF5A7D1E000, 0xBD2CC85EA5DB4ED7, 0x3FEDA00000000000,
  0x3FF135C81135C811, 0xBFB2AA04A4472000, 0x3D20B6E8AE9C697D, 0x3FEDC00000000000,
  0x3FF12358E75D3033, 0xBFB1973BD1466000, 0x3D25325D560D9E9B, 0x3FEDE00000000000,
  0x3FF1111111111111, 0xBFB08598B59E4000, 0x3D17E5DD7009902C, 0x3FEE000000000000,
  0x3FF0FEF010FEF011, 0xBFAEEA31C006C000, 0x3D0E113E4FC93B7B, 0x3FEE200000000000,
  0x3FF0ECF56BE69C90, 0xBFACCB73CDDDC000, 0x3D1A68F247D82807, 0x3FEE400000000000,
  0x3FF0DB20A88F4696, 0xBFAAAEF2D0FB0000, 0xBD20FC1A353BB42E, 0x3FEE600000000000,
  0x3FF0C9714FBCDA3B, 0xBFA894AA149FC000, 0x3D197995D05A267D, 0x3FEE800000000000,
  0x3FF0B7E6EC259DC8, 0xBFA67C94F2D4C000, 0x3D029EFBEC19AFA2, 0x3FEEA00000000000,
  0x3FF0A6810A6810A7, 0xBFA466AED42E0000, 0x3D2C167375BDFD28, 0x3FEEC00000000000,
  0x3FF0953F39010954, 0xBFA252F32F8D0000, 0xBD283E9AE021B67B, 0x3FEEE00000000000,
  0x3FF0842108421084, 0xBFA0415D89E74000, 0xBD0111C05CF1D753, 0x3FEF000000000000,
  0x3FF073260A47F7C6, 0xBF9C63D2EC148000, 0xBD2578C63F9EB2F3, 0x3FEF200000000000,
  0x3FF0624DD2F1A9FC, 0xBF98492528C90000, 0x3D2AA0BA325A0C34, 0x3FEF400000000000,
  0x3FF05197F7D73404, 0xBF9432A925980000, 0xBD098139928637FE, 0x3FEF600000000000,
  0x3FF0410410410410, 0xBF90205658938000, 0x3D23DC5B06E2F7D2, 0x3FEF800000000000,
  0x3FF03091B51F5E1A, 0xBF882448A3890000, 0x3D275577DA74F640, 0x3FEFA00000000000,
  0x3FF0204081020408, 0xBF80101575890000, 0x3D10C76B999D2BE8, 0x3FEFC00000000000,
  0x3FF0101010101010, 0xBF70080559580000, 0xBD2166AFCB31C67B, 0x3FEFE00000000000,
  0x3FF0000000000000, 0x0000000000000000, 0x0000000000000000, 0x3FF0000000000000,
  0x3FEFC07F01FC07F0, 0x3F7FE02A6B100000, 0x3D19E23F0DDA40E4, 0x3FF0200000000000,
  0x3FEF81F81F81F820, 0x3F8FC0A8B0FC0000, 0x3CDF1E7CF6D3A69C, 0x3FF0400000000000,
  0x3FEF44659E4A4271, 0x3F97B91B07D58000, 0x3D288D5493FAA639, 0x3FF0600000000000,
  0x3FEF07C1F07C1F08, 0x3F9F829B0E780000, 0x3D2980267C7E09E4, 0x3FF0800000000000,
  0x3FEECC07B301ECC0, 0x3FA39E87B9FEC000, 0xBCF502B7F526FEAA, 0x3FF0A00000000000,
  0x3FEE9131ABF0B767, 0x3FA77458F632C000, 0x3D2CFC4634F2A1EE, 0x3FF0C00000000000,
  0x3FEE573AC901E574, 0x3FAB42DD71198000, 0xBD1C827AE5D6704C, 0x3FF0E00000000000,
  0x3FEE1E1E1E1E1E1E, 0x3FAF0A30C0118000, 0xBD2D599E83368E91, 0x3FF1000000000000,
  0x3FEDE5D6E3F8868A, 0x3FB16536EEA38000, 0xBD147C5E768FA309, 0x3FF1200000000000,
  0x3FEDAE6076B981DB, 0x3FB341D7961BE000, 0xBD2C5EDACCF913DF, 0x3FF1400000000000,
  0x3FED77B654B82C34, 0x3FB51B073F062000, 0xBD1F025B61C65E57, 0x3FF1600000000000,
  0x3FED41D41D41D41D, 0x3FB6F0D28AE56000, 0x3D269737C93373DA, 0x3FF1800000000000,
  0x3FED0CB58F6EC074, 0x3FB8C345D631A000, 0xBD137C294D2F5668, 0x3FF1A00000000000,
  0x3FECD85689039B0B, 0x3FBA926D3A4AE000, 0xBD253935E85BAAC8, 0x3FF1C00000000000,
  0x3FECA4B3055EE191, 0x3FBC5E548F5BC000, 0x3D1D0C57585FBE06, 0x3FF1E00000000000,
  0x3FEC71C71C71C71C, 0x3FBE27076E2B0000, 0xBD2A342C2AF0003C, 0x3FF2000000000000,
  0x3FEC3F8F01C3F8F0, 0x3FBFEC9131DBE000, 0x3D2575545CA333F2, 0x3FF2200000000000,
  0x3FEC0E070381C0E0, 0x3FC0D77E7CD09000, 0xBD0A699688E85BF4, 0x3FF2400000000000,
  0x3FEBDD2B899406F7, 0x3FC1B72AD52F6000, 0x3D2E80A41811A396, 0x3FF2600000000000,
  0x3FEBACF914C1BAD0, 0x3FC29552F81FF000, 0x3D248D301771C408, 0x3FF2800000000000,
  0x3FEB7D6C3DDA338B, 0x3FC371FC201E9000, 0xBCF178864D27543A, 0x3FF2A00000000000,
  0x3FEB4E81B4E81B4F, 0x3FC44D2B6CCB8000, 0xBD170CC16135783C, 0x3FF2C00000000000,
  0x3FEB2036406C80D9, 0x3FC526E5E3A1B000, 0x3D20DE8B90075B8F, 0x3FF2E00000000000,
  0x3FEAF286BCA1AF28, 0x3FC5FF3070A79000, 0x3D1E9E439F105039, 0x3FF3000000000000,
  0x3FEAC5701AC5701B, 0x3FC6D60FE719D000, 0x3D10E46AA3B2E266, 0x3FF3200000000000,
  0x3FEA98EF606A63BE, 0x3FC7AB890210E000, 0xBD2BDB9072534A58, 0x3FF3400000000000,
  0x3FEA6D01A6D01A6D, 0x3FC87FA06520D000, 0xBD2BBDBF7FDBFA09, 0x3FF3600000000000,
  0x3FEA41A41A41A41A, 0x3FC9525A9CF45000, 0x3D2AD1D904C1D4E3, 0x3FF3800000000000,
  0x3FEA16D3F97A4B02, 0x3FCA23BC1FE2B000, 0x3D258C64DC46C1EA, 0x3FF3A00000000000,
  0x3FE9EC8E951033D9, 0x3FCAF3C94E80C000, 0xBCBA4E633FCD9066, 0x3FF3C00000000000,
  0x3FE9C2D14EE4A102, 0x3FCBC286742D9000, 0xBD194EB0318BB78F, 0x3FF3E00000000000,
  0x3FE999999999999A, 0x3FCC8FF7C79AA000, 0xBD27794F689F8434, 0x3FF4000000000000,
  0x3FE970E4F80CB872, 0x3FCD5C216B4FC000, 0xBD21BA91BBCA681B, 0x3FF4200000000000,
  0x3FE948B0FCD6E9E0, 0x3FCE27076E2AF000, 0x3D172F4F543FFF10, 0x3FF4400000000000,
  0x3FE920FB49D0E229, 0x3FCEF0ADCBDC6000, 0xBD2B26B79C86AF24, 0x3FF4600000000000,
  0x3FE8F9C18F9C18FA, 0x3FCFB9186D5E4000, 0xBD0D572AAB993C87, 0x3FF4800000000000,
  0x3FE8D3018D3018D3, 0x3FD0402594B4D000, 0x3CF036B89EF42D7F, 0x3FF4A00000000000,
  0x3FE8ACB90F6BF3AA, 0x3FD0A324E2739000, 0x3D0C6BEE7EF4030E, 0x3FF4C00000000000,
  0x3FE886E5F0ABB04A, 0x3FD1058BF9AE4800, 0x3D26A8C4FD055A66, 0x3FF4E00000000000,
  0x3FE8618618618618, 0x3FD1675CABABA800, 0xBD1F1FC63382A8F0, 0x3FF5000000000000,
  0x3FE83C977AB2BEDD, 0x3FD1C898C1699800, 0x3D1FAFBC68E75404, 0x3FF5200000000000,
  0x3FE8181818181818, 0x3FD22941FBCF7800, 0x3D165A242853DA76, 0x3FF5400000000000,
  0x3FE7F405FD017F40, 0x3FD2895A13DE8800, 0xBD15CA14B6CFB03F, 0x3FF5600000000000,
  0x3FE7D05F417D05F4, 0x3FD2E8E2BAE12000, 0xBD267B1E99B72BD8, 0x3FF5800000000000,
  0x3FE7AD2208E0ECC3, 0x3FD347DD9A988000, 0xBD25594DD4C58092, 0x3FF5A00000000000,
  0x3FE78A4C8178A4C8, 0x3FD3A64C55694800, 0xBD20B1C686519460, 0x3FF5C00000000000,
  0x3FE767DCE434A9B1, 0x3FD404308686A800, 0xBCDC42F3ED820B3A, 0x3FF5E00000000000,
  0x3FE745D1745D1746, 0x3FD4618BC21C6000, 0xBD13D82F484C84CC, 0x3FF6000000000000,
  0x3FE724287F46DEBC, 0x3FD4BE5F95777800, 0x3D041B6993293EE0, 0x3FF6200000000000,
  0x3FE702E05C0B8170, 0x3FD51AAD872DF800, 0x3CE684E49EB067D5, 0x3FF6400000000000,
  0x3FE6E1F76B4337C7, 0x3FD5767717455800, 0x3D2362A4D5B6506D, 0x3FF6600000000000,
  0x3FE6C16C16C16C17, 0x3FD5D1BDBF580800, 0x3D1CA508D8E0F720, 0x3FF6800000000000,
], 16);

/**
 * ln x (see above). Vectors with a lane that is not a positive normal number go through
 * logWide. ln 0 = -Infinity, ln(x < 0) = NaN, ln Infinity = Infinity. Error < 0.52 ulp;
 * measured <= 1 ulp from Math.log.
 */
@inline function logLanes(x: v128): v128 {
  const normal = v128.and(f64x2.ge(x, K(MIN_NORMAL)), f64x2.lt(x, K(INF)));
  if (!i64x2.all_true(normal)) return logWide(x);
  return logNormal(x, K(LOG_K_BIAS));
}

/** ln of positive normal lanes `bits`; kBias (i64 lanes) is MAGIC's bits - 1024 - k0 for an
 *  input pre-scaled by 2^k0, turning the shifted exponent straight into the double k. */
@inline function logNormal(bits: v128, kBias: v128): v128 {
  const t = i64x2.sub(bits, K(LOG_OFF));
  const kd = sub(i64x2.add(i64x2.shr_u(i64x2.add(t, K(TWO_62)), 52), kBias), K(MAGIC));
  const z = i64x2.sub(bits, v128.and(t, K(EXPONENT_FIELD_MASK)));
  const row = i64x2.shr_u(v128.and(t, K(LOG_CELL)), 40); // 32 bytes a cell
  const a0 = rowOf0(LOG_TABLE, row, 0);
  const a1 = rowOf1(LOG_TABLE, row, 0);
  const b0 = rowOf0(LOG_TABLE, row, 16);
  const b1 = rowOf1(LOG_TABLE, row, 16);
  const r = mul(sub(z, i64x2.shuffle(b0, b1, 1, 3)), i64x2.shuffle(a0, a1, 0, 2));
  const logcLo = i64x2.shuffle(b0, b1, 0, 2);
  const r2 = mul(r, r);
  const q = add(add(K(A2), mul(r, K(A3))), K(A4));
  const w = add(mul(kd, K(LN2_HI)), i64x2.shuffle(a0, a1, 1, 3)); // exact
  const hi = add(w, r);
  const lo = add(add(sub(w, hi), r), add(add(mul(kd, K(LN2_LO)), logcLo), mul(r2, q)));
  return add(hi, lo);
}

/** log for vectors with a lane that is subnormal, zero, negative, infinite or NaN. */
function logWide(x: v128): v128 {
  const sub54 = f64x2.lt(x, K(MIN_NORMAL));
  const y = logNormal(sel(mul(x, K(TWO_54)), x, sub54), i64x2.sub(K(LOG_K_BIAS), v128.and(sub54, K(INT_54))));
  const special = v128.not(v128.and(f64x2.gt(x, F(0.0)), f64x2.lt(x, K(INF))));
  let sv = sel(K(NAN), add(x, x), f64x2.lt(x, F(0.0))); // NaN and +Infinity pass through
  sv = sel(K(MINUS_INF), sv, f64x2.eq(x, F(0.0)));
  return sel(sv, y, special);
}

// ---- sin, cos, tan -----------------------------------------------------------------------

const EXPONENT_FIELD: usize = memory.data<u64>([0x7FF, 0x7FF], 16);

const INT_TWO: usize = memory.data<u64>([2, 2], 16);
const INV_PIO2: usize = memory.data<u64>([0x3FE45F306DC9C883, 0x3FE45F306DC9C883], 16);
const PIO2_1: usize = memory.data<u64>([0x3FF921FB54400000, 0x3FF921FB54400000], 16); // 33 bits of pi/2
const PIO2_1T: usize = memory.data<u64>([0x3DD0B4611A626331, 0x3DD0B4611A626331], 16); // pi/2 - PIO2_1
const PIO2_2: usize = memory.data<u64>([0x3DD0B4611A600000, 0x3DD0B4611A600000], 16); // next 33 bits
const PIO2_2T: usize = memory.data<u64>([0x3BA3198A2E037073, 0x3BA3198A2E037073], 16);
const PIO2_3: usize = memory.data<u64>([0x3BA3198A2E000000, 0x3BA3198A2E000000], 16); // next 33 bits
const PIO2_3T: usize = memory.data<u64>([0x397B839A252049C1, 0x397B839A252049C1], 16);
/** From here on (|x| >= 2^20 pi/2) the three-part pi/2 runs out of bits: see reduceHuge. */
const TRIG_LIMIT: f64 = reinterpret<f64>(0x413921FC00000000);

const S1: usize = memory.data<u64>([0xBFC5555555555549, 0xBFC5555555555549], 16);
const S2: usize = memory.data<u64>([0x3F8111111110F8A6, 0x3F8111111110F8A6], 16);
const S3: usize = memory.data<u64>([0xBF2A01A019C161D5, 0xBF2A01A019C161D5], 16);
const S4: usize = memory.data<u64>([0x3EC71DE357B1FE7D, 0x3EC71DE357B1FE7D], 16);
const S5: usize = memory.data<u64>([0xBE5AE5E68A2B9CEB, 0xBE5AE5E68A2B9CEB], 16);
const S6: usize = memory.data<u64>([0x3DE5D93A5ACFD57C, 0x3DE5D93A5ACFD57C], 16);
const C1: usize = memory.data<u64>([0x3FA555555555554C, 0x3FA555555555554C], 16);
const C2: usize = memory.data<u64>([0xBF56C16C16C15177, 0xBF56C16C16C15177], 16);
const C3: usize = memory.data<u64>([0x3EFA01A019CB1590, 0x3EFA01A019CB1590], 16);
const C4: usize = memory.data<u64>([0xBE927E4F809C52AD, 0xBE927E4F809C52AD], 16);
const C5: usize = memory.data<u64>([0x3E21EE9EBDB4B1C4, 0x3E21EE9EBDB4B1C4], 16);
const C6: usize = memory.data<u64>([0xBDA8FAE9BE8838D4, 0xBDA8FAE9BE8838D4], 16);

const SIN: i32 = 0;
const COS: i32 = 1;
const TAN: i32 = 2;

/** Biased exponent of each lane as an i64. */
@inline function exponent(x: v128): v128 {
  return v128.and(i64x2.shr_u(x, 52), K(EXPONENT_FIELD));
}

// ---- Payne-Hanek reduction for huge arguments --------------------------------------------

const PIO4_HIGH: usize = memory.data<u64>([0x3FE921FC00000000, 0x3FE921FC00000000], 16);
const HUGE_ARG: usize = memory.data<f64>([TRIG_LIMIT, TRIG_LIMIT], 16);
const INT_ONE: usize = memory.data<u64>([1, 1], 16);
const INT_16: usize = memory.data<u64>([16, 16], 16);
const INT_49: usize = memory.data<u64>([49, 49], 16);
const TINY_27: usize = memory.data<u64>([0x3E40000000000000, 0x3E40000000000000], 16);
const QUARTER_EXP: usize = memory.data<u64>([0x0020000000000000, 0x0020000000000000], 16);
const COS_QX_FIXED: usize = memory.data<u64>([0x3FE9000100000000, 0x3FE9000100000000], 16);
const COS_QX: usize = memory.data<f64>([0.28125, 0.28125], 16);
const COS_SHORT: usize = memory.data<u64>([0x3FD3333300000000, 0x3FD3333300000000], 16);
const TAN_REFLECT: usize = memory.data<u64>([0x3FE5942800000000, 0x3FE5942800000000], 16);

// 2/pi in binary, 64 bits a word, after one zero word so that windows starting before the
// binary point read zeros: bit i after the point (weight 2^-i) is at bit offset i + 63.
const TWO_OVER_PI: usize = memory.data<u64>([
  0x0000000000000000,
  0xA2F9836E4E441529, 0xFC2757D1F534DDC0, 0xDB6295993C439041, 0xFE5163ABDEBBC561,
  0xB7246E3A424DD2E0, 0x06492EEA09D1921C, 0xFE1DEB1CB129A73E, 0xE88235F52EBB4484,
  0xE99C7026B45F7E41, 0x3991D639835339F4, 0x9C845F8BBDF9283B, 0x1FF897FFDE05980F,
  0xEF2F118B5A0A6D1F, 0x6D367ECF27CB09B7, 0x4F463F669E5FEA2D, 0x7527BAC7EBE5F17B,
  0x3D0739F78A5292EA, 0x6BFB5FB11F8D5D08, 0x56033046FC7B6BAB, 0xF0CFBC209AF4361D,
], 16);

/** 64 bits of the table starting at bit offset `at` (most significant first). */
@inline function twoOverPiBits(at: i32): u64 {
  const word = TWO_OVER_PI + (<usize>(at >> 6) << 3);
  const shift = <u64>(at & 63);
  const hi = load<u64>(word) << shift;
  return shift == 0 ? hi : hi | (load<u64>(word, 8) >> (64 - shift));
}

/** High 64 bits of the 128-bit product a * b. */
@inline function mulHigh(a: u64, b: u64): u64 {
  const aLo = a & 0xFFFFFFFF;
  const aHi = a >> 32;
  const bLo = b & 0xFFFFFFFF;
  const bHi = b >> 32;
  const lh = aLo * bHi;
  const hl = aHi * bLo;
  const mid = ((aLo * bLo) >> 32) + (lh & 0xFFFFFFFF) + (hl & 0xFFFFFFFF);
  return aHi * bHi + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

/** a * b as p + e exactly (Dekker: no fused multiply-add in wasm). Sets dekkerError. */
let dekkerError: f64 = 0;
@inline function twoProduct(a: f64, b: f64): f64 {
  const ca = 134217729.0 * a;
  const ah = ca - (ca - a);
  const al = a - ah;
  const cb = 134217729.0 * b;
  const bh = cb - (cb - b);
  const bl = b - bh;
  const p = a * b;
  dekkerError = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
  return p;
}

let hugeQuadrant: i32 = 0;
let hugeY0: f64 = 0;
let hugeY1: f64 = 0;

/**
 * x = n pi/2 + (y0 + y1) for finite x >= 2^20 pi/2: x = m 2^e, and only the 192 bits of 2/pi
 * from weight 2^(1-e) on matter (earlier bits give multiples of 4, later ones < 2^-137), so
 * m times that window mod 2^192 is x 2/pi mod 4 with 190 fraction bits, exact. The fraction
 * (>= 2^-62 for every double, so >= 128 significant bits remain) times pi/2 in double-double
 * gives y0 + y1 to about 2^-105. Sets hugeQuadrant (n mod 4), hugeY0, hugeY1.
 */
function reduceHuge(x: f64): void {
  if (x == Infinity) {
    hugeQuadrant = 0;
    hugeY0 = NaN;
    hugeY1 = NaN;
    return;
  }
  const bits = reinterpret<u64>(x);
  const e = <i32>(bits >> 52) - 1075;
  const m = (bits & 0x000FFFFFFFFFFFFF) | 0x0010000000000000;
  const a = twoOverPiBits(e + 62);
  const b = twoOverPiBits(e + 126);
  const c = twoOverPiBits(e + 190);
  const w0 = m * c;
  const bLow = m * b;
  const w1 = mulHigh(m, c) + bLow;
  const w2 = mulHigh(m, b) + m * a + <u64>(w1 < bLow);
  let n = <i32>(w2 >> 62);
  // The fraction, left-aligned: f2 f1 f0 * 2^-192.
  let f2 = (w2 << 2) | (w1 >> 62);
  let f1 = (w1 << 2) | (w0 >> 62);
  let f0 = w0 << 2;
  const upper = f2 >> 63 != 0; // fraction >= 1/2: round n up, reduce to 1 - fraction
  if (upper) {
    n++;
    f0 = ~f0 + 1;
    f1 = ~f1 + <u64>(f0 == 0);
    f2 = ~f2 + <u64>(f0 == 0 && f1 == 0);
  }
  let exp = -64;
  while (f2 == 0) {
    f2 = f1;
    f1 = f0;
    f0 = 0;
    exp -= 64;
  }
  const lz = clz(f2);
  if (lz != 0) {
    f2 = (f2 << lz) | (f1 >> (64 - lz));
    f1 = (f1 << lz) | (f0 >> (64 - lz));
  }
  const unit = reinterpret<f64>(<u64>(1023 + exp - <i32>lz) << 52);
  const gHi = <f64>(f2 & ~<u64>0x7FF) * unit;
  const gLo = (<f64>(f2 & 0x7FF) + <f64>f1 * 5.421010862427522e-20) * unit; // f1 * 2^-64
  const p = twoProduct(gHi, PIO2_H);
  const tail = dekkerError + (gHi * PIO2_L + gLo * PIO2_H);
  let y0 = p + tail;
  let y1 = tail - (y0 - p);
  if (upper) {
    y0 = -y0;
    y1 = -y1;
  }
  hugeQuadrant = n & 3;
  hugeY0 = y0;
  hugeY1 = y1;
}

const PIO2_H: f64 = reinterpret<f64>(0x3FF921FB54442D18);
const PIO2_L: f64 = reinterpret<f64>(0x3C91A62633145C07);

/**
 * Shared by sin, cos, tan. |x| = n pi/2 + (y0 + y1) by fdlibm's medium-range reduction:
 * pi/2 in 33-bit pieces so n * piece is exact for n < 2^20, with a second and third round
 * wherever the first cancels more than 16 (then 49) bits; |x| <= pi/4 skips it. Then the
 * fdlibm kernels on [-pi/4, pi/4] (degree-13 sin, degree-14 cos, tan as below), chosen and
 * signed by n mod 4, and x's sign for the odd functions. Lanes with |x| >= 2^20 pi/2 (rare)
 * are reduced one at a time by reduceHuge (Payne-Hanek) and go through the same kernels.
 */
@inline function trig(x: v128, fn: i32): v128 {
  const ax = f64x2.abs(x);
  const small = f64x2.lt(ax, K(PIO4_HIGH));
  const n = f64x2.trunc(add(mul(ax, K(INV_PIO2)), K(HALF)));
  const ex = exponent(ax);

  let r = sub(ax, mul(n, K(PIO2_1)));
  let w = mul(n, K(PIO2_1T));
  let y0 = sub(r, w);
  const again2 = i64x2.gt_s(i64x2.sub(ex, exponent(y0)), K(INT_16));
  const w2a = mul(n, K(PIO2_2));
  const r2 = sub(r, w2a);
  const w2 = sub(mul(n, K(PIO2_2T)), sub(sub(r, r2), w2a));
  const y02 = sub(r2, w2);
  const again3 = v128.and(again2, i64x2.gt_s(i64x2.sub(ex, exponent(y02)), K(INT_49)));
  const w3a = mul(n, K(PIO2_3));
  const r3 = sub(r2, w3a);
  const w3 = sub(mul(n, K(PIO2_3T)), sub(sub(r2, r3), w3a));
  r = sel(sel(r3, r2, again3), r, again2);
  w = sel(sel(w3, w2, again3), w, again2);
  y0 = sel(sel(sub(r3, w3), y02, again3), y0, again2);
  let y1 = sub(sub(r, y0), w);
  y0 = sel(ax, y0, small);
  y1 = v128.andnot(y1, small);
  let q = v128.andnot(n, small);
  if (v128.any_true(f64x2.ge(ax, K(HUGE_ARG)))) {
    const x0 = f64x2.extract_lane(ax, 0);
    if (x0 >= TRIG_LIMIT) {
      reduceHuge(x0);
      y0 = f64x2.replace_lane(y0, 0, hugeY0);
      y1 = f64x2.replace_lane(y1, 0, hugeY1);
      q = f64x2.replace_lane(q, 0, <f64>hugeQuadrant);
    }
    const x1 = f64x2.extract_lane(ax, 1);
    if (x1 >= TRIG_LIMIT) {
      reduceHuge(x1);
      y0 = f64x2.replace_lane(y0, 1, hugeY0);
      y1 = f64x2.replace_lane(y1, 1, hugeY1);
      q = f64x2.replace_lane(q, 1, <f64>hugeQuadrant);
    }
  }

  let res: v128;
  if (fn == TAN) {
    const odd = i64x2.ne(v128.and(add(q, K(MAGIC)), K(INT_ONE)), I(0));
    res = tanKernel(y0, y1, odd);
  } else {
    // cos x = sin(x + pi/2): the cos quadrant is one ahead of the sin quadrant.
    const qb = add(q, K(fn == COS ? MAGIC_PLUS_ONE : MAGIC));
    const z = mul(y0, y0);
    const v = mul(z, y0);
    const rs = poly5(z, S2, S3, S4, S5, S6);
    let sinK = sub(y0, sub(sub(mul(z, sub(mul(K(HALF), y1), mul(v, rs))), y1), mul(v, K(S1))));
    sinK = sel(add(y0, mul(v, add(K(S1), mul(z, rs)))), sinK, small);
    sinK = sel(y0, sinK, f64x2.lt(f64x2.abs(y0), K(TINY_27))); // |y0| < 2^-27
    const rc = mul(z, poly6(z, C1, C2, C3, C4, C5, C6));
    const ay = f64x2.abs(y0);
    const tail = sub(mul(z, rc), mul(y0, y1));
    const hz = mul(K(HALF), z);
    const qx = sel(K(COS_QX), clearLow(i64x2.sub(ay, K(QUARTER_EXP))), f64x2.ge(ay, K(COS_QX_FIXED)));
    const cosK = sel(sub(K(ONE), sub(hz, tail)), sub(sub(K(ONE), qx), sub(sub(hz, qx), tail)), f64x2.lt(ay, K(COS_SHORT)));
    res = sel(cosK, sinK, i64x2.ne(v128.and(qb, K(INT_ONE)), I(0)));
    res = v128.xor(res, i64x2.shl(v128.and(qb, K(INT_TWO)), 62));
  }
  if (fn != COS) res = v128.xor(res, signOf(x));

  return res;
}

const T0: usize = memory.data<u64>([0x3FD5555555555563, 0x3FD5555555555563], 16);
const T1: usize = memory.data<u64>([0x3FC111111110FE7A, 0x3FC111111110FE7A], 16);
const T2: usize = memory.data<u64>([0x3FABA1BA1BB341FE, 0x3FABA1BA1BB341FE], 16);
const T3: usize = memory.data<u64>([0x3F9664F48406D637, 0x3F9664F48406D637], 16);
const T4: usize = memory.data<u64>([0x3F8226E3E96E8493, 0x3F8226E3E96E8493], 16);
const T5: usize = memory.data<u64>([0x3F6D6D22C9560328, 0x3F6D6D22C9560328], 16);
const T6: usize = memory.data<u64>([0x3F57DBC8FEE08315, 0x3F57DBC8FEE08315], 16);
const T7: usize = memory.data<u64>([0x3F4344D8F2F26501, 0x3F4344D8F2F26501], 16);
const T8: usize = memory.data<u64>([0x3F3026F71A8D1068, 0x3F3026F71A8D1068], 16);
const T9: usize = memory.data<u64>([0x3F147E88A03792A6, 0x3F147E88A03792A6], 16);
const T10: usize = memory.data<u64>([0x3F12B80F32F0A7E9, 0x3F12B80F32F0A7E9], 16);
const T11: usize = memory.data<u64>([0xBEF375CBDB605373, 0xBEF375CBDB605373], 16);
const T12: usize = memory.data<u64>([0x3EFB2A7074BF7AD4, 0x3EFB2A7074BF7AD4], 16);
const PIO4: usize = memory.data<u64>([0x3FE921FB54442D18, 0x3FE921FB54442D18], 16);
const PIO4_LO: usize = memory.data<u64>([0x3C81A62633145C07, 0x3C81A62633145C07], 16);

/**
 * tan(y0 + y1) on |y0| <= pi/4, or -1/tan where `odd` (fdlibm k_tan.c): odd degree-27
 * minimax polynomial; above 0.6744 reflected through pi/4 - y so the series stays short; the
 * reciprocal of the odd quadrants computed as a corrected -1/w.
 */
@inline function tanKernel(x: v128, y: v128, odd: v128): v128 {
  const ax = f64x2.abs(x);
  const sx = signOf(x);
  const big = f64x2.ge(ax, K(TAN_REFLECT));
  const xs = sel(add(sub(K(PIO4), ax), sub(K(PIO4_LO), v128.xor(y, sx))), x, big);
  const ys = v128.andnot(y, big);
  const z = mul(xs, xs);
  const w = mul(z, z);
  let r = poly6(w, T1, T3, T5, T7, T9, T11);
  const v = mul(z, poly6(w, T2, T4, T6, T8, T10, T12));
  const s = mul(z, xs);
  r = add(ys, mul(z, add(mul(s, add(r, v)), ys)));
  r = add(r, mul(K(T0), s));
  const wr = add(xs, r);
  const iy = sel(K(MINUS_ONE), K(ONE), odd);
  const yBig = v128.xor(sub(iy, mul(K(TWO), sub(xs, sub(div(mul(wr, wr), add(wr, iy)), r)))), sx);
  const tiny = f64x2.lt(ax, K(TINY_28)); // |x| < 2^-28: fdlibm uses x + y, not x + r
  const wo = sel(add(x, y), wr, tiny);
  const ro = sel(y, r, tiny);
  const zo = clearLow(wo);
  const vo = sub(ro, sub(zo, xs));
  const a = div(K(MINUS_ONE), wo);
  const ta = clearLow(a);
  const yOdd = add(ta, mul(a, add(add(K(ONE), mul(ta, zo)), mul(ta, vo))));
  return sel(yBig, sel(yOdd, sel(x, wr, tiny), odd), big);
}

/** sin x; see trig(). Error < 1 ulp. */
@inline function sinLanes(x: v128): v128 { return trig(x, SIN); }
/** cos x; see trig(). Error < 1 ulp. */
@inline function cosLanes(x: v128): v128 { return trig(x, COS); }
/** tan x; see trig() and tanKernel(). Error < 1 ulp. */
@inline function tanLanes(x: v128): v128 { return trig(x, TAN); }

// ---- pow ---------------------------------------------------------------------------------

const P1: usize = memory.data<u64>([0x3FC555555555553E, 0x3FC555555555553E], 16);
const P2: usize = memory.data<u64>([0xBF66C16C16BEBD93, 0xBF66C16C16BEBD93], 16);
const P3: usize = memory.data<u64>([0x3F11566AAF25DE2C, 0x3F11566AAF25DE2C], 16);
const P4: usize = memory.data<u64>([0xBEBBBD41C5D26BF1, 0xBEBBBD41C5D26BF1], 16);
const P5: usize = memory.data<u64>([0x3E66376972BEA4D0, 0x3E66376972BEA4D0], 16);

/** r - r^2 R(r^2), R minimax for the Remez form of e^r on |r| <= ln2/2. */
@inline function expRemez(r: v128): v128 {
  const t = mul(r, r);
  return sub(r, mul(t, poly5(t, P1, P2, P3, P4, P5)));
}


const TWO_53: usize = memory.data<f64>([9007199254740992.0, 9007199254740992.0], 16);
const LOW_WORD: usize = memory.data<u64>([0xFFFFFFFF, 0xFFFFFFFF], 16);
const EXP_BIAS_INT: usize = memory.data<u64>([0x3FF, 0x3FF], 16);
const INT_53: usize = memory.data<u64>([53, 53], 16);
const SQRT3_HALF_MANT: usize = memory.data<u64>([0x3988E, 0x3988E], 16);
const SQRT3_MANT: usize = memory.data<u64>([0xBB67A, 0xBB67A], 16);
const MINUS_HIDDEN: usize = memory.data<u64>([-0x00100000, -0x00100000], 16);
const TH_BIAS: usize = memory.data<u64>([0x20000000, 0x20000000], 16);
const TH_ROUND: usize = memory.data<u64>([0x00080000, 0x00080000], 16);
const TH_HALF: usize = memory.data<u64>([1 << 18, 1 << 18], 16);
const ONE_AND_HALF: usize = memory.data<f64>([1.5, 1.5], 16);
const QUARTER: usize = memory.data<f64>([0.25, 0.25], 16);
const THIRD_LONG: usize = memory.data<f64>([0.3333333333333333333333, 0.3333333333333333333333], 16);
const NEAR_ONE_LO: usize = memory.data<u64>([0x3FEFFFFF00000000, 0x3FEFFFFF00000000], 16);
const NEAR_ONE_HI: usize = memory.data<u64>([0x3FF0000100000000, 0x3FF0000100000000], 16);
const TWO_31: usize = memory.data<u64>([0x41E0000000000000, 0x41E0000000000000], 16);
const Z_MAX: usize = memory.data<f64>([1024.0, 1024.0], 16);
const Z_MIN: usize = memory.data<f64>([-1075.0, -1075.0], 16);
const ROUND_Z: usize = memory.data<u64>([0x3FE0000100000000, 0x3FE0000100000000], 16);
const N_MAX: usize = memory.data<f64>([1100.0, 1100.0], 16);
const N_MIN: usize = memory.data<f64>([-1100.0, -1100.0], 16);

const MANT_HIGH: usize = memory.data<u64>([0x000FFFFF, 0x000FFFFF], 16);
const ONE_HIGH: usize = memory.data<u64>([0x3FF00000, 0x3FF00000], 16);
const L1: usize = memory.data<u64>([0x3FE3333333333303, 0x3FE3333333333303], 16);
const L2: usize = memory.data<u64>([0x3FDB6DB6DB6FABFF, 0x3FDB6DB6DB6FABFF], 16);
const L3: usize = memory.data<u64>([0x3FD55555518F264D, 0x3FD55555518F264D], 16);
const L4: usize = memory.data<u64>([0x3FD17460A91D4101, 0x3FD17460A91D4101], 16);
const L5: usize = memory.data<u64>([0x3FCD864A93C9DB65, 0x3FCD864A93C9DB65], 16);
const L6: usize = memory.data<u64>([0x3FCA7E284A454EEF, 0x3FCA7E284A454EEF], 16);
const DP_H1: usize = memory.data<u64>([0x3FE2B80340000000, 0x3FE2B80340000000], 16); // log2(1.5), high part
const DP_L1: usize = memory.data<u64>([0x3E4CFDEB43CFD006, 0x3E4CFDEB43CFD006], 16);
const LN2: usize = memory.data<u64>([0x3FE62E42FEFA39EF, 0x3FE62E42FEFA39EF], 16);
const LG2_H: usize = memory.data<u64>([0x3FE62E4300000000, 0x3FE62E4300000000], 16);
const LG2_L: usize = memory.data<u64>([0xBE205C610CA86C39, 0xBE205C610CA86C39], 16);
const OVT: usize = memory.data<u64>([0x3C971547652B82FE, 0x3C971547652B82FE], 16); // -(1024 - log2(ovfl + .5ulp))
const CP: usize = memory.data<u64>([0x3FEEC709DC3A03FD, 0x3FEEC709DC3A03FD], 16); // 2 / (3 ln2)
const CP_H: usize = memory.data<u64>([0x3FEEC709E0000000, 0x3FEEC709E0000000], 16);
const CP_L: usize = memory.data<u64>([0xBE3E2FE0145B01F5, 0xBE3E2FE0145B01F5], 16);
const IVLN2: usize = memory.data<u64>([0x3FF71547652B82FE, 0x3FF71547652B82FE], 16);
const IVLN2_H: usize = memory.data<u64>([0x3FF7154760000000, 0x3FF7154760000000], 16);
const IVLN2_L: usize = memory.data<u64>([0x3E54AE0BF85DDF44, 0x3E54AE0BF85DDF44], 16);

/**
 * log2 |x| as t1 + t2 with ~ 2^-64 relative error, for finite nonzero x (fdlibm e_pow.c):
 * |x| = 2^n m, m reduced around 1 or 1.5 so s = (m - b) / (m + b) has |s| < 0.1, s carried
 * as s_h + s_l (s_h with 21 bits so products with it are exact); 3 atanh(s) / s = 3 + s^2 +
 * s^4 L(s^2) summed in double-double and scaled by 2 / (3 ln2). Where |y| > 2^31 (then only
 * |x - 1| < 2^-20 can stay finite) a series in x - 1 is used instead.
 */
@inline function log2Split(ax: v128, hugeY: v128, out: usize): void {
  const sub53 = f64x2.lt(ax, K(MIN_NORMAL));
  const bits = sel(mul(ax, K(TWO_53)), ax, sub53);
  const high = i64x2.shr_u(bits, 32);
  const j = v128.and(high, K(MANT_HIGH));
  let nI = i64x2.sub(i64x2.shr_u(high, 20), K(EXP_BIAS_INT));
  nI = i64x2.sub(nI, v128.and(sub53, K(INT_53)));
  const oneHalf = v128.and(i64x2.gt_s(j, K(SQRT3_HALF_MANT)), i64x2.lt_s(j, K(SQRT3_MANT))); // b = 1.5
  const wrap = i64x2.ge_s(j, K(SQRT3_MANT)); // m >= sqrt 3: halve m, so b = 1
  nI = i64x2.sub(nI, wrap); // a true mask is -1
  const ix = i64x2.add(v128.or(j, K(ONE_HIGH)), v128.and(wrap, K(MINUS_HIDDEN)));
  const axn = v128.or(i64x2.shl(ix, 32), v128.and(bits, K(LOW_WORD)));
  const bp = sel(K(ONE_AND_HALF), K(ONE), oneHalf);

  const u = sub(axn, bp);
  const v = div(K(ONE), add(axn, bp));
  const ss = mul(u, v);
  const sh = clearLow(ss);
  const thHigh = i64x2.add(i64x2.add(v128.or(i64x2.shr_u(ix, 1), K(TH_BIAS)), K(TH_ROUND)), v128.and(oneHalf, K(TH_HALF)));
  let th = i64x2.shl(thHigh, 32); // m + b rounded to 21 bits
  let tl = sub(axn, sub(th, bp));
  const sl = mul(v, sub(sub(u, mul(sh, th)), mul(sh, tl)));
  let s2 = mul(ss, ss);
  let r = mul(mul(s2, s2), poly6(s2, L1, L2, L3, L4, L5, L6));
  r = add(r, mul(sl, add(sh, ss)));
  s2 = mul(sh, sh);
  th = clearLow(add(add(K(THREE), s2), r));
  tl = sub(r, sub(sub(th, K(THREE)), s2));
  const uu = mul(sh, th);
  const vv = add(mul(sl, th), mul(tl, ss));
  const ph = clearLow(add(uu, vv));
  const pl = sub(vv, sub(ph, uu));
  const zh = mul(K(CP_H), ph);
  const dpH = v128.and(oneHalf, K(DP_H1));
  const zl = add(add(mul(K(CP_L), ph), mul(pl, K(CP))), v128.and(oneHalf, K(DP_L1)));
  const tn = sub(i64x2.add(nI, K(MAGIC)), K(MAGIC));
  let t1 = clearLow(add(add(add(zh, zl), dpH), tn));
  let t2 = sub(zl, sub(sub(sub(t1, tn), dpH), zh));

  // |y| > 2^31 and x within 2^-20 of 1: log2 x from x - 1 - (x-1)^2/2 + (x-1)^3/3 - ...
  const t = sub(ax, K(ONE));
  const w = mul(mul(t, t), sub(K(HALF), mul(t, sub(K(THIRD_LONG), mul(t, K(QUARTER))))));
  const us = mul(K(IVLN2_H), t);
  const vs = sub(mul(t, K(IVLN2_L)), mul(w, K(IVLN2)));
  const t1s = clearLow(add(us, vs));
  const t2s = sub(vs, sub(t1s, us));
  const nearOne = v128.and(f64x2.ge(ax, K(NEAR_ONE_LO)), f64x2.lt(ax, K(NEAR_ONE_HI)));
  const series = v128.and(hugeY, nearOne);
  t1 = sel(t1s, t1, series);
  t2 = sel(t2s, t2, series);
  v128.store(out, t1);
  v128.store(out, t2, 16);
}

// Scratch for log2Split's two results (a static pair, so kernels stay allocation-free).
const LOG2_PAIR: usize = memory.data(32, 16);

/**
 * x^y with Math.pow semantics (ES2024 Number::exponentiate): y = 0 gives 1 even for NaN x;
 * (+-1)^(+-Infinity) and 1^NaN are NaN; a negative base needs an integer exponent (odd ones
 * keep the sign); signed zeros and infinities as the spec tabulates. Otherwise
 * 2^(y log2 |x|): y split into 21 + 32 bits, the product with t1 + t2 kept as p_h + p_l,
 * overflow/underflow decided on it exactly, and 2^(p_h + p_l) = 2^n e^(z ln2) with a
 * Remez form as in exp (fdlibm e_pow.c). Error < 1 ulp (fdlibm: about 0.5 ulp + 2^-64
 * relative in the exponent); 0 ulp against Math.pow.
 */
@inline function powLanes(x: v128, y: v128): v128 {
  const ax = f64x2.abs(x);
  const ay = f64x2.abs(y);
  log2Split(ax, f64x2.gt(ay, K(TWO_31)), LOG2_PAIR);
  const t1 = v128.load(LOG2_PAIR);
  const t2 = v128.load(LOG2_PAIR, 16);

  const y1 = clearLow(y);
  const pl = add(mul(sub(y, y1), t1), mul(y, t2));
  let ph = mul(y1, t1);
  const z = add(pl, ph);
  const over = v128.or(f64x2.gt(z, K(Z_MAX)), v128.and(f64x2.eq(z, K(Z_MAX)), f64x2.gt(add(pl, K(OVT)), sub(z, ph))));
  const under = v128.or(f64x2.lt(z, K(Z_MIN)), v128.and(f64x2.eq(z, K(Z_MIN)), f64x2.le(pl, sub(z, ph))));

  // n = nearest integer to z (from z's high word, as fdlibm), then 2^(z - n) by exp's method.
  const roundZ = f64x2.ge(f64x2.abs(z), K(ROUND_Z));
  const n = v128.and(roundZ, v128.or(f64x2.floor(add(f64x2.abs(clearLow(z)), K(HALF))), signOf(z)));
  ph = sub(ph, n);
  const tt = clearLow(add(pl, ph));
  const u = mul(tt, K(LG2_H));
  const v = add(mul(sub(pl, sub(tt, ph)), K(LN2)), mul(tt, K(LG2_L)));
  const zz = add(u, v);
  const w = sub(v, sub(zz, u));
  const c = expRemez(zz);
  const rr = sub(div(mul(zz, c), sub(c, K(TWO))), add(w, mul(zz, w)));
  let res = scale(sub(K(ONE), sub(rr, zz)), f64x2.max(f64x2.min(n, K(N_MAX)), K(N_MIN)));
  res = sel(K(INF), res, over);
  res = v128.andnot(res, under);

  // Sign and domain of a negative base.
  const yInt = f64x2.eq(f64x2.trunc(y), y);
  const halfY = mul(y, K(HALF));
  const yOdd = v128.and(yInt, f64x2.ne(f64x2.trunc(halfY), halfY));
  const xNeg = f64x2.lt(x, F(0.0));
  res = v128.xor(res, signOf(v128.and(xNeg, yOdd)));
  res = sel(K(NAN), res, v128.andnot(xNeg, yInt));

  // Exponents fdlibm answers directly.
  res = sel(mul(x, x), res, f64x2.eq(y, K(TWO)));
  res = sel(x, res, f64x2.eq(y, K(ONE)));
  res = sel(div(K(ONE), x), res, f64x2.eq(y, K(MINUS_ONE)));
  res = sel(f64x2.sqrt(x), res, v128.and(f64x2.eq(y, K(HALF)), i64x2.ge_s(x, I(0))));
  // x = +-0 or +-Infinity: |x| or 1/|x|, negated for an odd exponent of a negative base.
  const zx = sel(div(K(ONE), ax), ax, f64x2.lt(y, F(0.0)));
  const zxSigned = v128.xor(zx, v128.and(signOf(x), yOdd));
  res = sel(zxSigned, res, v128.or(f64x2.eq(ax, F(0.0)), f64x2.eq(ax, K(INF))));
  // y = +-Infinity: 0 or Infinity by whether |x| > 1 matches y > 0; NaN for |x| = 1.
  const grows = v128.not(v128.xor(f64x2.gt(ax, K(ONE)), f64x2.gt(y, F(0.0))));
  let yInfRes = v128.and(grows, K(INF));
  yInfRes = sel(K(NAN), yInfRes, f64x2.eq(ax, K(ONE)));
  res = sel(yInfRes, res, f64x2.eq(ay, K(INF)));
  res = sel(K(NAN), res, v128.or(f64x2.ne(x, x), f64x2.ne(y, y)));
  return sel(K(ONE), res, f64x2.eq(y, F(0.0)));
}

// ---- exports -----------------------------------------------------------------------------
// Thin @inline wrappers: AssemblyScript warns about v128 in the signature of any exported
// function that is not inlined, even one that never leaves the module.

@inline export function exp_f64x2(x: v128): v128 { return expLanes(x); }
@inline export function log_f64x2(x: v128): v128 { return logLanes(x); }
@inline export function expm1_f64x2(x: v128): v128 { return expm1Lanes(x); }
@inline export function tanh_f64x2(x: v128): v128 { return tanhLanes(x); }
@inline export function sigmoid_f64x2(x: v128): v128 { return sigmoidLanes(x); }
@inline export function sin_f64x2(x: v128): v128 { return sinLanes(x); }
@inline export function cos_f64x2(x: v128): v128 { return cosLanes(x); }
@inline export function tan_f64x2(x: v128): v128 { return tanLanes(x); }
@inline export function pow_f64x2(x: v128, y: v128): v128 { return powLanes(x, y); }
