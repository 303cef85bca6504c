(function(w,d){
function r(){if(w.AP&&w.AP.resize)w.AP.resize()}
w.addEventListener("load",r);d.addEventListener("toggle",r,true);
function picker(i){
var u=i.getAttribute("data-person-picker"),f=i.form,a=f.querySelector("input[name=owner_account]"),s=f.querySelector("input[name=owner_shown]"),l=d.createElement("ul"),t=0,n=0;
l.className="pick";l.setAttribute("role","listbox");l.setAttribute("data-person-options","");i.parentNode.insertBefore(l,i.nextSibling);
function clear(){while(l.firstChild)l.removeChild(l.firstChild)}
function offer(people){clear();people.forEach(function(p){var o=d.createElement("li");o.setAttribute("role","option");o.setAttribute("data-account",p.accountId);o.textContent=p.name;o.addEventListener("mousedown",function(e){e.preventDefault();i.value=p.name;a.value=p.accountId;s.value=p.name;clear();r()});l.appendChild(o)});r()}
i.addEventListener("input",function(){clearTimeout(t);var q=i.value.trim(),k=++n;if(q.length<2){clear();return}
t=setTimeout(function(){w.fetch(u+"&q="+encodeURIComponent(q),{credentials:"same-origin"}).then(function(x){return x.ok?x.json():{people:[]}}).then(function(j){if(k===n)offer(j.people||[])}).catch(function(){clear()})},200)});
i.addEventListener("blur",function(){setTimeout(clear,150)})}
d.addEventListener("DOMContentLoaded",function(){Array.prototype.forEach.call(d.querySelectorAll("input[data-person-picker]"),picker)})
})(window,document);
