// erfc in float64 for the exact GELU, after the rational approximations of Sun's fdlibm (s_erf.c,
// error < 1 ulp): |x| < 0.84375: erf(x) = x + x·P(x²)/Q(x²); |x| < 1.25: erf(x) = erx + P(s)/Q(s)
// with s = |x| − 1; |x| < 28: erfc(x) = exp(−z² − 0.5625)·exp((z − x)(z + x) + R(1/x²)/S(1/x²))/x,
// z = x with its low 32 bits cleared (so z² is exact); beyond, erfc is 0 (or 2) in float64.
//   Φ(x) = erfc(−x/√2)/2 (no cancellation in the negative tail), φ(x) = exp(−x²/2)/√(2π).

const erx = 8.45062911510467529297e-01;
// erf on [0, 0.84375]
const pp0 = 1.28379167095512558561e-01, pp1 = -3.25042107247001499370e-01, pp2 = -2.84817495755985104766e-02;
const pp3 = -5.77027029648944159157e-03, pp4 = -2.37630166566501626084e-05;
const qq1 = 3.97917223959155352819e-01, qq2 = 6.50222499887672944485e-02, qq3 = 5.08130628187576562776e-03;
const qq4 = 1.32494738004321644526e-04, qq5 = -3.96022827877536812320e-06;
// erf on [0.84375, 1.25]
const pa0 = -2.36211856075265944077e-03, pa1 = 4.14856118683748331666e-01, pa2 = -3.72207876035701323847e-01;
const pa3 = 3.18346619901161753674e-01, pa4 = -1.10894694282396677476e-01, pa5 = 3.54783043256182359371e-02;
const pa6 = -2.16637559486879084300e-03;
const qa1 = 1.06420880400844228286e-01, qa2 = 5.40397917702171048937e-01, qa3 = 7.18286544141962662868e-02;
const qa4 = 1.26171219808761642112e-01, qa5 = 1.36370839120290507362e-02, qa6 = 1.19844998467991074170e-02;
// erfc on [1.25, 1/0.35]
const ra0 = -9.86494403484714822705e-03, ra1 = -6.93858572707181764372e-01, ra2 = -1.05586262253232909814e+01;
const ra3 = -6.23753324503260060396e+01, ra4 = -1.62396669462573470355e+02, ra5 = -1.84605092906711035994e+02;
const ra6 = -8.12874355063065934246e+01, ra7 = -9.81432934416914548592e+00;
const sa1 = 1.96512716674392571292e+01, sa2 = 1.37657754143519042600e+02, sa3 = 4.34565877475229228821e+02;
const sa4 = 6.45387271733267880336e+02, sa5 = 4.29008140027567833386e+02, sa6 = 1.08635005541779435134e+02;
const sa7 = 6.57024977031928170135e+00, sa8 = -6.04244152148580987438e-02;
// erfc on [1/0.35, 28]
const rb0 = -9.86494292470009928597e-03, rb1 = -7.99283237680523006574e-01, rb2 = -1.77579549177547519889e+01;
const rb3 = -1.60636384855821916062e+02, rb4 = -6.37566443368389627722e+02, rb5 = -1.02509513161107724954e+03;
const rb6 = -4.83519191608651397019e+02;
const sb1 = 3.03380607434824582924e+01, sb2 = 3.25792512996573918826e+02, sb3 = 1.53672958608443695994e+03;
const sb4 = 3.19985821950859553908e+03, sb5 = 2.55305040643316442583e+03, sb6 = 4.74528541206955367215e+02;
const sb7 = -2.24409524465858183362e+01;

const INV_SQRT2 = 0.70710678118654752440;
const INV_SQRT_2PI = 0.39894228040143267794;

/** erfc(x) = 1 − erf(x), accurate relative to itself also where it is tiny (x up to 26.5). */
export function erfc(x: f64): f64 {
  const ax = Math.abs(x);
  if (ax < 0.84375) {
    const z = x * x;
    const r = pp0 + z * (pp1 + z * (pp2 + z * (pp3 + z * pp4)));
    const s = 1.0 + z * (qq1 + z * (qq2 + z * (qq3 + z * (qq4 + z * qq5))));
    const y = x * (r / s);
    return x < 0.25 ? 1.0 - (x + y) : 0.5 - (y + (x - 0.5));
  }
  if (ax < 1.25) {
    const s = ax - 1.0;
    const p = pa0 + s * (pa1 + s * (pa2 + s * (pa3 + s * (pa4 + s * (pa5 + s * pa6)))));
    const q = 1.0 + s * (qa1 + s * (qa2 + s * (qa3 + s * (qa4 + s * (qa5 + s * qa6)))));
    return x >= 0 ? (1.0 - erx) - p / q : 1.0 + (erx + p / q);
  }
  if (ax < 28) {
    if (x < -6) return 2.0;
    const s = 1.0 / (ax * ax);
    let R: f64, S: f64;
    if (ax < 1.0 / 0.35) {
      R = ra0 + s * (ra1 + s * (ra2 + s * (ra3 + s * (ra4 + s * (ra5 + s * (ra6 + s * ra7))))));
      S = 1.0 + s * (sa1 + s * (sa2 + s * (sa3 + s * (sa4 + s * (sa5 + s * (sa6 + s * (sa7 + s * sa8)))))));
    } else {
      R = rb0 + s * (rb1 + s * (rb2 + s * (rb3 + s * (rb4 + s * (rb5 + s * rb6)))));
      S = 1.0 + s * (sb1 + s * (sb2 + s * (sb3 + s * (sb4 + s * (sb5 + s * (sb6 + s * sb7))))));
    }
    const z = reinterpret<f64>(reinterpret<u64>(ax) & 0xFFFFFFFF00000000);
    const r = Math.exp(-z * z - 0.5625) * Math.exp((z - ax) * (z + ax) + R / S);
    return x > 0 ? r / ax : 2.0 - r / ax;
  }
  if (x != x) return x; // NaN
  return x > 0 ? 0.0 : 2.0;
}

/** Standard normal CDF Φ(x). */
// @ts-ignore: decorator
@inline export function phi(x: f64): f64 {
  return 0.5 * erfc(-x * INV_SQRT2);
}

/** Standard normal density φ(x). */
// @ts-ignore: decorator
@inline export function pdf(x: f64): f64 {
  return INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}
