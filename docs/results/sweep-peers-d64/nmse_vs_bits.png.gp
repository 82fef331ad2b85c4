# fq-eval plot: run `gnuplot <this file>` to redraw
set terminal pngcairo size 900,600 enhanced font 'DejaVu Sans,11'
set output 'docs/results/sweep-peers-d64/nmse_vs_bits.png'
set title 'Normalised MSE vs rate (sample-t256-512.h5)' noenhanced
set xlabel 'bits per coordinate (headers included)' noenhanced
set ylabel 'normalised MSE ||x - x_hat||^2 / ||x||^2' noenhanced
set grid xtics ytics mxtics mytics lc rgb '#cccccc'
set key top right box opaque noenhanced
set logscale y
set format y '10^{%L}'
set datafile missing 'NaN'
set offsets graph 0.03, graph 0.03, 0, 0
$s0 << EOD
4.5 0.00825829035
4.5 0.00740276208
EOD
$s1 << EOD
4.5 0.00740276208
EOD
$s2 << EOD
0.5 0.7693554559
0.75 0.5768484269
0.75 0.5953991765
1.25 0.357526682
1.25 0.3352851815
1.25 0.3175904749
2.25 0.1040772524
2.25 0.09879476597
2.25 0.09452221535
3.25 0.02878001555
3.25 0.02663572106
4.25 0.007451713115
EOD
$s3 << EOD
0.5 0.7693554559
0.75 0.5768484269
1.25 0.3175904749
2.25 0.09452221535
3.25 0.02663572106
4.25 0.007451713115
EOD
$s4 << EOD
1 0.3979604592
2 0.1588869392
2 0.1562168761
4 0.03917811423
EOD
$s5 << EOD
1 0.3979604592
2 0.1562168761
4 0.03917811423
EOD
$s6 << EOD
1.5 2.472713808
2.5 0.1799336739
3 0.1356089279
3.5 0.03262217962
4.5 0.007081570036
5 0.005364549448
EOD
$s7 << EOD
1.5 2.472713808
2.5 0.1799336739
3 0.1356089279
3.5 0.03262217962
4.5 0.007081570036
5 0.005364549448
EOD
$s8 << EOD
0.75 3.199589335
1.25 1.646465048
2.25 0.8349808617
4.25 0.408636524
EOD
$s9 << EOD
0.75 3.199589335
1.25 1.646465048
2.25 0.8349808617
4.25 0.408636524
EOD
$s10 << EOD
1.25 0.3578211165
2.25 0.114101609
3.25 0.03346556485
4.25 0.009161162802
EOD
$s11 << EOD
1.25 0.3578211165
2.25 0.114101609
3.25 0.03346556485
4.25 0.009161162802
EOD
$s12 << EOD
2.5 0.5236381328
3.5 0.1693807151
4.5 0.04945591378
EOD
$s13 << EOD
2.5 0.5236381328
3.5 0.1693807151
4.5 0.04945591378
EOD
$s14 << EOD
4.5 0.007438995207
4.5 0.007401755006
EOD
$s15 << EOD
4.5 0.007401755006
EOD
$s16 << EOD
0.5 0.7664123636
0.75 0.5775282178
0.75 0.5992342574
1.25 0.3561348825
1.25 0.3365131847
1.25 0.3182079778
2.25 0.1049215563
2.25 0.09850810871
2.25 0.09501538349
3.25 0.02886007885
3.25 0.02658418434
4.25 0.00755402803
EOD
$s17 << EOD
0.5 0.7664123636
0.75 0.5775282178
1.25 0.3182079778
2.25 0.09501538349
3.25 0.02658418434
4.25 0.00755402803
EOD
$s18 << EOD
1 0.3828256344
2 0.1325627323
2 0.1204259533
4 0.01891599163
EOD
$s19 << EOD
1 0.3828256344
2 0.1204259533
4 0.01891599163
EOD
$s20 << EOD
1.5 2.785580677
2.5 0.2058041993
3 0.1569007838
3.5 0.03733302801
4.5 0.008134159634
5 0.006113740497
EOD
$s21 << EOD
1.5 2.785580677
2.5 0.2058041993
3 0.1569007838
3.5 0.03733302801
4.5 0.008134159634
5 0.006113740497
EOD
$s22 << EOD
0.75 3.040044465
1.25 1.59206237
2.25 0.7983306231
4.25 0.3979903737
EOD
$s23 << EOD
0.75 3.040044465
1.25 1.59206237
2.25 0.7983306231
4.25 0.3979903737
EOD
$s24 << EOD
1.25 0.3581137025
2.25 0.1145985917
3.25 0.03324320776
4.25 0.0090659047
EOD
$s25 << EOD
1.25 0.3581137025
2.25 0.1145985917
3.25 0.03324320776
4.25 0.0090659047
EOD
$s26 << EOD
2.5 0.5320004705
3.5 0.1712679418
4.5 0.04947564885
EOD
$s27 << EOD
2.5 0.5320004705
3.5 0.1712679418
4.5 0.04947564885
EOD
$s28 << EOD
0.5 0.5
0.6125 0.4277975128
0.725 0.366021424
0.8375 0.3131661097
0.95 0.2679433656
1.0625 0.2292510108
1.175 0.1961460245
1.2875 0.1678215628
1.4 0.1435872944
1.5125 0.1228525748
1.625 0.1051120519
1.7375 0.08993334875
1.85 0.07694652583
1.9625 0.06583506475
2.075 0.05632815391
2.1875 0.04819408829
2.3 0.04123462221
2.4125 0.03528013765
2.525 0.03018551028
2.6375 0.02582657244
2.75 0.02209708691
2.8625 0.01890615764
2.975 0.01617601444
3.0875 0.01384011749
3.2 0.01184153568
3.3125 0.01013155902
3.425 0.008668511501
3.5375 0.00741673532
3.65 0.006345721847
3.7625 0.005429368046
3.875 0.004645340293
3.9875 0.003974530047
4.1 0.003400588138
4.2125 0.002909526295
4.325 0.002489376225
4.4375 0.002129897915
4.55 0.001822330062
4.6625 0.001559176536
4.775 0.001334023688
4.8875 0.001141384032
5 0.0009765625
EOD
plot $s0 using 1:2 with points pt 7 ps 1.3 lc rgb '#1f77b4' notitle, \
     $s1 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#1f77b4' title 'block K', \
     $s2 using 1:2 with points pt 7 ps 1.3 lc rgb '#d62728' notitle, \
     $s3 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#d62728' title 'fib K', \
     $s4 using 1:2 with points pt 7 ps 1.3 lc rgb '#2ca02c' notitle, \
     $s5 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#2ca02c' title 'gsrq K', \
     $s6 using 1:2 with points pt 7 ps 1.3 lc rgb '#9467bd' notitle, \
     $s7 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#9467bd' title 'int K', \
     $s8 using 1:2 with points pt 7 ps 1.3 lc rgb '#ff7f0e' notitle, \
     $s9 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#ff7f0e' title 'qjl K', \
     $s10 using 1:2 with points pt 7 ps 1.3 lc rgb '#8c564b' notitle, \
     $s11 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#8c564b' title 'scalar K', \
     $s12 using 1:2 with points pt 7 ps 1.3 lc rgb '#e377c2' notitle, \
     $s13 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#e377c2' title 'scalar+qjl K', \
     $s14 using 1:2 with points pt 7 ps 1.3 lc rgb '#ff7f0e' notitle, \
     $s15 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#ff7f0e' title 'block V', \
     $s16 using 1:2 with points pt 7 ps 1.3 lc rgb '#8c564b' notitle, \
     $s17 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#8c564b' title 'fib V', \
     $s18 using 1:2 with points pt 7 ps 1.3 lc rgb '#e377c2' notitle, \
     $s19 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#e377c2' title 'gsrq V', \
     $s20 using 1:2 with points pt 7 ps 1.3 lc rgb '#17becf' notitle, \
     $s21 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#17becf' title 'int V', \
     $s22 using 1:2 with points pt 7 ps 1.3 lc rgb '#1f77b4' notitle, \
     $s23 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#1f77b4' title 'qjl V', \
     $s24 using 1:2 with points pt 7 ps 1.3 lc rgb '#d62728' notitle, \
     $s25 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#d62728' title 'scalar V', \
     $s26 using 1:2 with points pt 7 ps 1.3 lc rgb '#2ca02c' notitle, \
     $s27 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#2ca02c' title 'scalar+qjl V', \
     $s28 using 1:2 with lines lw 2 dt 2 lc rgb '#000000' title 'Shannon bound 4^-b'
unset output
