// Structured initialisations of FibQuant block codebooks in B^k (SPEC 4.2, steps 1-2):
// Beta-quantile radii r = sqrt(F^-1(p)) of a radial law (source or companded), with
// quasi-uniform directions.
//  - k = 1: c_n = signed quantiles of the k = 1 marginal at (n + 1/2)/N.
//  - k = 2: sunflower: point n at radius quantile (n + 1/2)/N, angle n * 2 pi (1 - 1/phi).
//  - k = 3: L shells at radius quantiles (l - 1/2)/L times M = N/L Fibonacci-sphere
//           directions (z_i = 1 - (2i+1)/M, azimuth i * golden angle).
//  - any k: Roberts-Kronecker (k+1)-dim sequence t_n = frac(1/2 + n alpha), alpha_j =
//           phi^-j, phi the positive root of x^(k+2) = x + 1; t_n,0 -> radius quantile,
//           t_n,1..k -> inverse normal CDF -> normalised direction.
#pragma once

#include <cstdint>
#include <string>

#include "fq/codecs/codebook.hpp"

namespace fq::codecs {

enum class RadialInit { source, companded };
const char* to_string(RadialInit r);
RadialInit radial_init_from_string(const std::string& s);  // throws UsageError

BlockCodebook init_marginal(int d, int N, RadialInit radial);                  // k = 1
BlockCodebook init_sunflower(int d, int N, RadialInit radial);                 // k = 2
BlockCodebook init_multishell(int d, int N, int L, RadialInit radial);         // k = 3, L | N
BlockCodebook init_roberts_kronecker(int d, int k, int N, RadialInit radial);  // any k
// The default structured init for (d, k, N): marginal, sunflower, multishell with L given
// (k = 3), Roberts-Kronecker otherwise. name receives a description.
BlockCodebook init_structured(int d, int k, int N, RadialInit radial, int k3_shells,
                              std::string* name = nullptr);

// Golden-ratio constants.
double roberts_phi(int dim);  // positive root of x^(dim+1) = x + 1

}  // namespace fq::codecs
